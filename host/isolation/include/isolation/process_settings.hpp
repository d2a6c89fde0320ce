#pragma once
// Everything hostd decides about one runner: which plugin, how it is named to the operator,
// the limits the runner lives under, and the bounds on every wait and queue.
#include "isolation/frame.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace mh::isolation {

// What Linux gives cheaply per process. The runner applies them before it loads the plugin.
struct RunnerLimits {
  std::uint64_t address_space_bytes = 0;  // RLIMIT_AS; 0: none
  std::vector<std::uint32_t> cpus;        // CPU affinity; empty: hostd's
  bool core_dumps = false;                // false: RLIMIT_CORE 0 (a crash leaves no core file)
  // Added to (or replacing in) hostd's environment, e.g. {"CUDA_VISIBLE_DEVICES", "1"}.
  std::vector<std::pair<std::string, std::string>> environment;
};

struct ProcessSettings {
  std::string model;             // the model's name, as messages give it: model "echo" crashed: ...
  std::string log_name;          // "echo#3": the runner's command line; empty: `model`
  std::filesystem::path runner;  // the executable; empty: find_runner_executable()
  std::filesystem::path plugin_path;  // hostd's private copy (PluginStore), what is loaded
  std::filesystem::path shown_path;   // the operator's plugin file, what messages name
  RunnerLimits limits;

  // From spawning to the runner's answer to `load` (dlopen of a large plugin takes seconds).
  std::chrono::milliseconds handshake_timeout{30'000};
  // How long a stats read waits for the runner (the caller may be an HTTP thread).
  std::chrono::milliseconds stats_timeout{1'000};
  // How often each in-flight request's host check_cancelled is polled and a change forwarded.
  std::chrono::milliseconds cancel_poll_interval{20};
  // After cleanup's done, or after hostd closed the channel, how long the runner may take to
  // exit before it is killed.
  std::chrono::milliseconds exit_grace{2'000};
  // The largest frame payload either way (a request body, a chunk, a reply: one frame each).
  std::size_t max_frame_payload = kDefaultMaxFramePayload;
  // Bytes of request frames hostd queues for a runner that does not read them; a predict
  // beyond it is refused with MH_RESOURCE_EXHAUSTED. Control frames (cancel, cleanup, stats)
  // are small, bounded by the requests in flight, and always queued.
  std::size_t max_queued_bytes = std::size_t{256} << 20;
};

}  // namespace mh::isolation
