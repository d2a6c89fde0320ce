#include "isolation/process_backend.hpp"

#include "runner_session.hpp"

#include <cstring>

namespace mh::isolation {

namespace {

mh_status remote_stats_read(mh_instance* instance, mh_stats_write_fn write, void* write_ctx) {
  return RunnerSession::from_token(instance)->read_stats(write, write_ctx);
}

// hostd's stand-in for the plugin's mh.plugin.stats/1 table: `read` asks the runner.
const mh_plugin_stats kRemoteStats = {sizeof(mh_plugin_stats), &remote_stats_read};

}  // namespace

std::shared_ptr<ProcessBackend> ProcessBackend::start(ProcessSettings settings) {
  auto session = std::make_shared<RunnerSession>(std::move(settings));
  session->launch();
  session->await_loaded();  // throws host::PluginLoadError
  return std::shared_ptr<ProcessBackend>(new ProcessBackend(std::move(session)));
}

ProcessBackend::ProcessBackend(std::shared_ptr<RunnerSession> session)
    : session_(std::move(session)) {}

ProcessBackend::~ProcessBackend() {
  session_->release();
}

std::string ProcessBackend::name() const {
  return session_->identity().name;
}
std::string ProcessBackend::version() const {
  return session_->identity().version;
}
std::string ProcessBackend::description() const {
  return session_->identity().description;
}
std::uint32_t ProcessBackend::abi_version() const noexcept {
  return session_->identity().abi_version;
}

void ProcessBackend::init(const mh_host* host, const mh_model_meta* meta, mh_init_done_fn done,
                          void* done_ctx) noexcept {
  try {
    session_->init(host, meta, done, done_ctx);
  } catch (const std::exception& error) {  // out of memory building the frame
    done(done_ctx, MH_RESOURCE_EXHAUSTED, error.what(), nullptr);
  }
}

void ProcessBackend::predict(mh_instance* instance, const mh_request* request,
                             mh_response* response) noexcept {
  try {
    session_->predict(instance, request, response);
  } catch (const std::exception&) {  // out of memory building the frame; no internal text out
    static constexpr char kMessage[] = "the model's runner could not be sent the request";
    response->finish(response, MH_RESOURCE_EXHAUSTED, kMessage, sizeof kMessage - 1);
  }
}

void ProcessBackend::cleanup(mh_instance* instance, mh_cleanup_done_fn done,
                             void* done_ctx) noexcept {
  try {
    session_->cleanup(instance, done, done_ctx);
  } catch (const std::exception&) {
    kill("cleanup could not be sent");  // the crash path then calls done
  }
}

const void* ProcessBackend::get_extension(const char* extension_id) const noexcept {
  if (extension_id != nullptr && session_->identity().has_stats &&
      std::strcmp(extension_id, MH_PLUGIN_STATS_EXTENSION) == 0) {
    return &kRemoteStats;
  }
  return nullptr;
}

void ProcessBackend::set_crash_callback(CrashCallback callback) {
  session_->set_crash_callback(std::move(callback));
}

void ProcessBackend::kill(const std::string& reason) {
  session_->kill(reason);
}

pid_t ProcessBackend::pid() const noexcept {
  return session_->pid();
}
RunnerPhase ProcessBackend::phase() const {
  return session_->phase();
}
std::size_t ProcessBackend::in_flight() const {
  return session_->in_flight();
}
std::optional<RunnerExit> ProcessBackend::exit_status() const {
  return session_->exit_status();
}
std::optional<RunnerExit> ProcessBackend::wait_for_exit(std::chrono::milliseconds limit) const {
  return session_->wait_for_exit(limit);
}
const ProcessSettings& ProcessBackend::settings() const noexcept {
  return session_->settings();
}

}  // namespace mh::isolation
