#pragma once
// Closed-loop streaming load: each keep-alive connection posts a `"stream": true` request,
// reads its Server-Sent Events to the end, and posts the next. Measures what a streaming
// client sees: time to the first event (TTFT) and generated tokens per second over all
// connections (the tokens each stream reports in its closing event's usage.completion_tokens).
#include <cstdint>
#include <string>
#include <vector>

namespace mh::bench {

struct StreamSettings {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  std::string target = "/v1/models/tiny/predict";
  std::string body;  // JSON with "stream": true
  unsigned connections = 4;
  std::uint64_t requests = 32;  // measured streams in all
  std::uint64_t warmup = 1;     // per connection, not measured
};

struct StreamResult {
  std::uint64_t ok = 0;         // 200 streams that ended with a usage count
  std::uint64_t failed = 0;     // other statuses, I/O errors, streams without a count
  std::uint64_t tokens = 0;     // completion tokens of the ok streams
  double seconds = 0;           // measured wall time
  std::vector<double> ttft_ms;  // of the ok streams, sorted
  std::string first_error;

  double tokens_per_second() const { return seconds > 0 ? tokens / seconds : 0; }
  double ttft_percentile_ms(double p) const;
};

StreamResult run_stream_load(const StreamSettings& settings);

}  // namespace mh::bench
