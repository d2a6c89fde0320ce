#pragma once
// With --hostd PATH the benchmark starts its own hostd: a temporary models directory holding
// echo, a free loopback port, the log in a file; stopped with SIGTERM at the end (ModelHostd
// serving echo).
#include "model_hostd.hpp"

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

  std::uint16_t port() const { return hostd_.port(); }

 private:
  ModelHostd hostd_;
};

}  // namespace mh::bench
