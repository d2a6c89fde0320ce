#include "process_sample.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace mh::soak {

std::optional<ProcessSample> sample_process(pid_t pid) {
  const std::filesystem::path dir = "/proc/" + std::to_string(pid);
  std::ifstream status(dir / "status");
  if (!status) return std::nullopt;
  ProcessSample sample;
  bool rss = false;
  bool threads = false;
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0)
      rss = std::sscanf(line.c_str(), "VmRSS: %lu", &sample.rss_kb) == 1;
    if (line.rfind("Threads:", 0) == 0)
      threads = std::sscanf(line.c_str(), "Threads: %lu", &sample.threads) == 1;
  }
  if (!rss || !threads) return std::nullopt;  // a zombie has no VmRSS
  std::error_code error;
  for (std::filesystem::directory_iterator it(dir / "fd", error), end; !error && it != end;
       it.increment(error)) {
    ++sample.fds;
  }
  if (error) return std::nullopt;
  return sample;
}

std::string to_string(const ProcessSample& sample) {
  char text[96];
  std::snprintf(text, sizeof text, "rss %.1f MB, %lu fds, %lu threads",
                static_cast<double>(sample.rss_kb) / 1024.0, static_cast<unsigned long>(sample.fds),
                static_cast<unsigned long>(sample.threads));
  return text;
}

}  // namespace mh::soak
