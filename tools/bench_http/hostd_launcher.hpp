#pragma once
// With --hostd PATH the benchmark starts its own hostd: a temporary models directory holding
// echo, a free loopback port, the log in a file; stopped with SIGTERM at the end.
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace mh::bench {

class HostdLauncher {
 public:
  // Starts hostd and waits until echo is ready. Throws std::runtime_error with the log.
  HostdLauncher(const std::filesystem::path& hostd, const std::filesystem::path& echo_plugin,
                const std::vector<std::string>& extra_args);
  ~HostdLauncher();
  HostdLauncher(const HostdLauncher&) = delete;
  HostdLauncher& operator=(const HostdLauncher&) = delete;

  std::uint16_t port() const { return port_; }

 private:
  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace mh::bench
