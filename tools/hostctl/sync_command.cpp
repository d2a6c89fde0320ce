// hostctl sync NAME: POST /admin/sync, then poll GET /admin/status until the sync is over and
// the model has settled (a changed set of files loads as a new generation), drawing progress.
#include <sys/ioctl.h>
#include <unistd.h>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <thread>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "human_units.hpp"
#include "progress_bar.hpp"
#include "status_report.hpp"

namespace hostctl {
namespace {

// How long a sync may stay "idle" after the request before hostctl decides none will run.
constexpr auto kIdleGrace = std::chrono::seconds(5);

bool stdout_is_terminal() {
  const char* term = std::getenv("TERM");
  return ::isatty(STDOUT_FILENO) == 1 && !(term != nullptr && std::string(term) == "dumb");
}

std::size_t terminal_width() {
  winsize size{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  if (const char* columns = std::getenv("COLUMNS")) {
    const long value = std::strtol(columns, nullptr, 10);
    if (value > 0) return static_cast<std::size_t>(value);
  }
  return 80;
}

bool state_settled(const std::string& state) {
  return state == "ready" || state == "failed" || state == "unloaded";
}

// Serving, failed or gone, with no new generation still on its way.
bool model_settled(const ModelStatus& model) {
  return state_settled(model.state) && (!model.pending || state_settled(model.pending->state));
}

// The load failure that followed this sync, if any.
std::optional<std::string> load_failure(const ModelStatus& model) {
  if (model.pending && model.pending->state == "failed")
    return model.pending->error.value_or("generation " + std::to_string(model.pending->generation) +
                                         " failed");
  if (model.state == "failed") return model.error.value_or("failed");
  return std::nullopt;
}

ModelStatus poll_model(AdminClient& client, const std::string& name) {
  const HttpReply reply = client.get("/admin/status", std::chrono::seconds(30));
  if (!reply.ok()) throw OperationFailed("reading hostd's status failed: " + error_message(reply));
  StatusReport report;
  try {
    report = parse_status_report(reply.body);
  } catch (const std::runtime_error& error) {
    throw OperationFailed(error.what());
  }
  const ModelStatus* model = report.find(name);
  if (model == nullptr) {
    throw OperationFailed(name + " is no longer in hostd's status (was its folder removed and " +
                          "reloaded?)");
  }
  return *model;
}

}  // namespace

int run_sync(AdminClient& client, const SyncOptions& options) {
  const std::string& name = options.name;
  boost::json::object request{{"name", name}};
  const HttpReply reply =
      client.post_json("/admin/sync", boost::json::serialize(request), std::chrono::seconds(60));
  if (!reply.ok()) throw OperationFailed("sync " + name + " failed: " + error_message(reply));

  const auto started = Clock::now();
  const auto deadline = options.timeout_s > 0
                            ? started + std::chrono::duration_cast<Clock::duration>(
                                            std::chrono::duration<double>(options.timeout_s))
                            : Clock::time_point::max();
  ProgressDisplay display(std::cout, stdout_is_terminal(), name, terminal_width());
  bool said_loading = false;
  for (;;) {
    const ModelStatus model = poll_model(client, name);
    const SyncProgress& sync = model.sync;
    const auto now = Clock::now();
    if (!said_loading) display.show(sync, now);

    if (sync.state == "failed") {
      display.close();
      std::cerr << "sync " << name << " failed: " << sync.error.value_or("(no reason given)")
                << '\n';
      return kExitFailed;
    }
    const bool idle_too_long = sync.state == "idle" && now - started >= kIdleGrace;
    if ((sync.state == "done" || idle_too_long) && model_settled(model)) {
      display.close();
      if (sync.state == "idle") {
        std::cout << "sync " << name << ": nothing ran (does its model.json have "
                  << "download_files_from?); the model is " << model.state << '\n';
      } else {
        const std::string what =
            sync.files_total == 0 && sync.bytes_total == 0
                ? std::string("already up to date (nothing to transfer)")
                : std::to_string(sync.files_total) + " files, " + format_bytes(sync.bytes_total);
        std::cout << "synced " << name << ": " << what << ", in "
                  << format_duration(std::chrono::duration<double>(now - started).count())
                  << "; generation " << model.generation << " " << model.state << '\n';
      }
      if (auto failure = load_failure(model)) {
        std::cerr << "the files are synced, but " << name << " failed to load: " << *failure
                  << '\n';
        return kExitFailed;
      }
      return kExitOk;
    }
    if (sync.state == "done" && !said_loading) {
      display.close();
      const auto generation = model.pending ? model.pending->generation : model.generation;
      std::cout << "sync " << name << ": files done, waiting for generation " << generation
                << " to load\n"
                << std::flush;
      said_loading = true;
    }
    if (now >= deadline) {
      display.close();
      std::cerr << "sync " << name << ": still " << sync.state << " (model " << model.state
                << ") after --timeout " << options.timeout_s << " s; hostd carries on\n";
      return kExitFailed;
    }
    std::this_thread::sleep_for(options.poll_interval);
  }
}

}  // namespace hostctl
