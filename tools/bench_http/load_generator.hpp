#pragma once
// Closed-loop HTTP load over keep-alive connections: each connection sends its next request
// when the previous answer arrived, so requests/s and latency are those of one server under
// `connections` concurrent clients.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace mh::bench {

struct LoadSettings {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  std::string target = "/v1/models/echo/predict";
  std::string body = R"({"hello": "world"})";
  unsigned connections = 4;
  std::uint64_t requests = 20000;         // in all, over every connection (0: no bound)
  std::chrono::milliseconds duration{0};  // wall time bound (0: none)
  std::uint64_t warmup = 200;             // per connection, not measured
};

struct LoadResult {
  std::uint64_t ok = 0;              // 2xx answers
  std::uint64_t failed = 0;          // other statuses and I/O errors
  double seconds = 0;                // measured wall time
  std::vector<double> latencies_ms;  // of the ok answers, sorted
  std::string first_error;

  double requests_per_second() const { return seconds > 0 ? (ok + failed) / seconds : 0; }
  double percentile_ms(double p) const;
};

LoadResult run_load(const LoadSettings& settings);

}  // namespace mh::bench
