// mh-runner: runs one isolated model's plugin for hostd (see host/isolation). hostd starts it
// with the channel on fd 3 and sends `load`; the runner applies the limits it was given, loads
// the plugin through host/plugin (the same checks as in-process), answers `loaded` (or
// `load_failed`, naming the operator's plugin file), and then serves the plugin until cleanup.
#include "isolation/blocking_channel.hpp"
#include "isolation/messages.hpp"
#include "isolation/runner_contract.hpp"
#include "plugin/in_process_backend.hpp"
#include "plugin_host.hpp"
#include "runner_limits.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

namespace isolation = mh::isolation;

int usage(const char* problem) {
  std::fprintf(stderr,
               "mh-runner: %s\n"
               "mh-runner runs one isolated model for hostd, which starts it with its channel on "
               "fd %d; it is not meant to be run by hand.\n",
               problem, isolation::kRunnerSocketFd);
  return isolation::kRunnerExitUsage;
}

// Tells hostd why the plugin cannot be served, and ends.
int refuse(isolation::BlockingChannel& channel, const std::string& message) {
  isolation::LoadFailedMessage failed;
  failed.message = message;
  channel.send(failed.encode());
  return isolation::kRunnerExitLoadFailed;
}

int run(isolation::BlockingChannel& channel) {
  std::optional<isolation::Frame> first;
  isolation::LoadMessage load;
  try {
    first = channel.receive();
    if (!first) return isolation::kRunnerExitClean;  // hostd let go before it asked anything
    load = isolation::LoadMessage::decode(*first);
  } catch (const isolation::FrameError& error) {
    std::fprintf(stderr, "mh-runner: %s\n", error.what());
    return isolation::kRunnerExitProtocol;
  }
  if (load.protocol_version != isolation::kProtocolVersion) {
    return refuse(channel, load.shown_path + ": hostd speaks runner protocol " +
                               std::to_string(load.protocol_version) + ", this mh-runner " +
                               std::to_string(isolation::kProtocolVersion) +
                               " (install hostd and mh-runner from one build)");
  }
  channel.set_max_payload(load.max_frame_payload);
  if (auto problem = mh::runner::apply_limits(load)) {
    return refuse(channel, load.shown_path + ": " + *problem);
  }
  std::shared_ptr<mh::host::InProcessBackend> backend;
  try {
    backend = mh::host::InProcessBackend::load(load.plugin_path, load.shown_path);
  } catch (const mh::host::PluginLoadError& error) {
    return refuse(channel, error.what());
  }
  isolation::LoadedMessage loaded;
  loaded.abi_version = backend->abi_version();
  loaded.name = backend->name();
  loaded.version = backend->version();
  loaded.description = backend->description();
  const auto* stats =
      static_cast<const mh_plugin_stats*>(backend->get_extension(MH_PLUGIN_STATS_EXTENSION));
  loaded.has_stats =
      stats != nullptr && MH_HAS_FIELD(stats, mh_plugin_stats, read) && stats->read != nullptr;
  if (!channel.send(loaded.encode())) return isolation::kRunnerExitClean;
  mh::runner::PluginHost host(channel, std::move(backend), load.model);
  host.serve();
}

}  // namespace

int main(int argc, char** argv) {
  long parent = 0;
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 >= argc) return usage("an option lacks its value");
    if (std::strcmp(argv[i], isolation::kModelArgument) == 0) continue;  // for ps and top
    if (std::strcmp(argv[i], isolation::kParentPidArgument) != 0) return usage("unknown option");
    parent = std::strtol(argv[i + 1], nullptr, 10);
  }
  struct stat channel_stat {};
  if (::fstat(isolation::kRunnerSocketFd, &channel_stat) != 0 || !S_ISSOCK(channel_stat.st_mode)) {
    return usage("no channel on fd 3");
  }
  std::signal(SIGPIPE, SIG_IGN);
  // Die with hostd: hostd also closes the channel when it exits, but a hostd killed with
  // SIGKILL while the plugin blocks the runner's threads is caught only by this.
  if (parent > 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) return isolation::kRunnerExitClean;  // hostd is gone already
  }
  // Children the plugin starts must not hold the channel open.
  ::fcntl(isolation::kRunnerSocketFd, F_SETFD, FD_CLOEXEC);
  isolation::BlockingChannel channel(isolation::kRunnerSocketFd);
  return run(channel);
}
