#pragma once
// What the soak watches in hostd: resident memory, open file descriptors and threads, read
// from /proc/PID (Linux).
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace mh::soak {

struct ProcessSample {
  std::uint64_t rss_kb = 0;  // VmRSS
  std::uint64_t fds = 0;     // entries of /proc/PID/fd
  std::uint64_t threads = 0;
};

// nullopt when the process is gone (or /proc/PID cannot be read).
std::optional<ProcessSample> sample_process(pid_t pid);

// "rss 14.2 MB, 23 fds, 12 threads"
std::string to_string(const ProcessSample& sample);

}  // namespace mh::soak
