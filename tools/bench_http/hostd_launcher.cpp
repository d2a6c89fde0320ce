#include "hostd_launcher.hpp"

namespace mh::bench {

namespace {

ModelHostdSpec echo_spec(const std::filesystem::path& hostd,
                         const std::filesystem::path& echo_plugin,
                         const std::vector<std::string>& extra_args) {
  ModelHostdSpec spec;
  spec.hostd = hostd;
  spec.model = "echo";
  spec.plugin = echo_plugin;
  spec.manifest_json =
      R"({"plugin": ")" + echo_plugin.filename().string() + R"(", "max_concurrency": 1024})";
  spec.extra_args = extra_args;
  spec.ready_timeout = std::chrono::seconds(20);
  return spec;
}

}  // namespace

HostdLauncher::HostdLauncher(const std::filesystem::path& hostd,
                             const std::filesystem::path& echo_plugin,
                             const std::vector<std::string>& extra_args)
    : hostd_(echo_spec(hostd, echo_plugin, extra_args)) {}

}  // namespace mh::bench
