#pragma once
// What the attack program watches while an attack runs: hostd's RSS and open descriptors
// (/proc/PID), the latency of normal requests from another client, and hostd's limits (read
// from its command line, /proc/PID/cmdline) with the worst-case memory they allow.
#include <sys/types.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mh::attack {

struct ProcessSample {
  double rss_mib = 0;
  int fds = -1;
};
// hostd's RSS and descriptors now; rss 0 and fds -1 when it is gone.
ProcessSample sample_process(pid_t pid);
bool process_alive(pid_t pid);

// hostd's bounds (its flags, else their defaults) and the memory they allow.
struct HostLimits {
  std::uint64_t max_connections = 1024;
  std::uint64_t max_header_bytes = 16 * 1024;
  std::uint64_t max_body_bytes = 1u << 20;
  std::uint64_t max_concurrent_bodies = 64;
  std::uint64_t max_stream_buffer_bytes = 1u << 20;
  // Streams open at once: bounded by the models' max_concurrency (echo's manifest: 64).
  std::uint64_t streams = 64;
};
HostLimits read_limits(pid_t pid, std::uint64_t streams);
// The worst case in MiB beyond `base_mib`, and the formula with the numbers in it.
double rss_bound_mib(const HostLimits& limits, double base_mib, std::string* formula);

// Samples hostd every 100 ms on a thread of its own while it lives: start, peak, end.
class ProcessWatch {
 public:
  explicit ProcessWatch(pid_t pid);
  ~ProcessWatch();
  ProcessSample start() const { return start_; }
  ProcessSample peak() const;
  ProcessSample stop();  // the end sample

 private:
  pid_t pid_;
  ProcessSample start_;
  mutable std::mutex mutex_;
  ProcessSample peak_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Sends a normal echo request every 20 ms over one keep-alive connection (re-made when hostd
// closes it) on a thread of its own; each waits at most 2 s.
class NormalClient {
 public:
  NormalClient(boost::asio::ip::tcp::endpoint target, std::string model, std::string api_key);
  ~NormalClient();
  struct Figures {
    std::size_t ok = 0;
    std::size_t failed = 0;
    double p50_ms = 0;
    double max_ms = 0;
    std::string first_failure;  // why the first failed request failed (empty: none did)
  };
  Figures stop();

 private:
  void run();
  boost::asio::ip::tcp::endpoint target_;
  std::string model_;
  std::string api_key_;
  std::atomic<bool> stop_{false};
  std::vector<double> latencies_ms_;
  std::size_t failed_ = 0;
  std::string first_failure_;
  std::thread thread_;
};

}  // namespace mh::attack
