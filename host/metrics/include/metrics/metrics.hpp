#pragma once
// /metrics in the Prometheus text format (version 0.0.4): requests by model and HTTP status, a
// latency histogram per model, and per-model series taken from the registry's status at
// scrape time (in flight, state, load duration, sync bytes and time, isolation mode, runner
// crashes by signal, restarts, stuck requests).
#include "model/model_status.hpp"

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace mh::host {

class Metrics {
 public:
  // Upper bounds (seconds) of the latency histogram's buckets.
  static const std::vector<double>& latency_buckets();

  // One answered request to a model: its HTTP status and how long it took, to the last byte.
  void observe_request(std::string_view model, unsigned http_status, double seconds);

  // The whole exposition, with model gauges from `models`.
  std::string render(const std::vector<ModelStatus>& models) const;

 private:
  struct Series {
    std::map<unsigned, std::uint64_t> by_status;
    std::vector<std::uint64_t> buckets = std::vector<std::uint64_t>(latency_buckets().size(), 0);
    std::uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::string, Series, std::less<>> series_;
};

// A label value with \, " and newlines escaped, as the text format wants.
std::string escape_label_value(std::string_view value);

}  // namespace mh::host
