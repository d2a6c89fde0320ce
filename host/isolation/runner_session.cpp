#include "runner_session.hpp"

#include "plugin/plugin_library.hpp"

#include <spdlog/spdlog.h>

#include <sys/eventfd.h>
#include <sys/socket.h>

#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <mutex>

namespace mh::isolation {

namespace {

// I/O threads not yet ended (see wait_for_runner_io_threads).
std::mutex io_threads_mutex;
std::condition_variable io_threads_ended;
std::size_t io_threads_live = 0;

void io_thread_ended() {
  std::lock_guard lock(io_threads_mutex);
  --io_threads_live;
  io_threads_ended.notify_all();
}

// Past handshake_timeout the I/O thread kills the runner and answers; this is only a backstop.
constexpr auto kHandshakeBackstop = std::chrono::seconds(10);

}  // namespace

RunnerSession::RunnerSession(ProcessSettings settings)
    : settings_(std::move(settings)),
      wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      decoder_(settings_.max_frame_payload) {
  if (!wake_) throw std::system_error(errno, std::generic_category(), "eventfd");
}

RunnerSession::~RunnerSession() = default;

std::string RunnerSession::shown_path() const {
  return (settings_.shown_path.empty() ? settings_.plugin_path : settings_.shown_path).string();
}

void RunnerSession::launch() {
  {
    std::lock_guard lock(io_threads_mutex);
    ++io_threads_live;
  }
  io_thread_ = std::thread([self = shared_from_this()]() mutable {
    self->run();
    self.reset();  // the session's last callbacks and members go before the count drops
    io_thread_ended();
  });
  io_thread_id_ = io_thread_.get_id();
}

LoadedMessage RunnerSession::await_loaded() {
  std::string error;
  {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, settings_.handshake_timeout + kHandshakeBackstop,
                      [&] { return loaded_.has_value() || load_error_.has_value() || ended_; });
    if (loaded_ && !load_error_) {
      identity_ = *loaded_;
      return identity_;
    }
    error = load_error_ ? *load_error_
                        : shown_path() + ": the runner gave no answer to loading the plugin";
  }
  release();
  throw host::PluginLoadError(error);
}

void RunnerSession::release() {
  {
    // Waits for a log line or crash callback in progress on the I/O thread.
    std::lock_guard callbacks(callback_mutex_);
    released_ = true;
    host_ = nullptr;
    crash_callback_ = nullptr;
  }
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  wake();
  if (!io_thread_.joinable()) return;
  if (on_io_thread()) {
    io_thread_.detach();  // it holds this session until the runner was reaped
  } else {
    io_thread_.join();
  }
}

void RunnerSession::wake() noexcept {
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t written = ::write(wake_.get(), &one, sizeof one);
}

bool RunnerSession::send_locked(std::string bytes, bool counted) {
  if (counted && outbound_bytes_ + bytes.size() > settings_.max_queued_bytes) return false;
  std::size_t sent = 0;
  if (outbound_.empty()) {
    // Most frames leave here, without waking the I/O thread.
    while (!write_broken_ && sent < bytes.size()) {
      const ssize_t n = ::send(channel_.get(), bytes.data() + sent, bytes.size() - sent,
                               MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        break;
      } else {
        write_broken_ = true;  // the runner is gone; the I/O thread sees the end
      }
    }
    if (write_broken_ || sent == bytes.size()) return true;
  }
  outbound_bytes_ += bytes.size() - sent;
  if (outbound_.empty()) front_sent_ = sent;
  outbound_.push_back(std::move(bytes));
  want_out_.store(true);
  wake();
  return true;
}

void RunnerSession::stop_sending_locked() {
  write_broken_ = true;
  outbound_.clear();
  outbound_bytes_ = 0;
  front_sent_ = 0;
  want_out_.store(false);
}

void RunnerSession::kill_locked(const std::string& reason) {
  if (pid_ <= 0 || reaped_) return;  // never signal a pid that was reaped (it may be reused)
  if (kill_reason_.empty()) kill_reason_ = reason;
  ::kill(pid_, SIGKILL);
}

void RunnerSession::kill(const std::string& reason) {
  std::lock_guard lock(mutex_);
  kill_locked(reason.empty() ? "killed" : reason);
}

void RunnerSession::init(const mh_host* host, const mh_model_meta* meta, mh_init_done_fn done,
                         void* done_ctx) {
  InitMessage message;
  message.name = meta->name == nullptr ? "" : meta->name;
  message.files_dir = meta->files_dir == nullptr ? "" : meta->files_dir;
  message.manifest_dir = meta->manifest_dir == nullptr ? "" : meta->manifest_dir;
  if (meta->config_json != nullptr)
    message.config_json.assign(meta->config_json, meta->config_json_size);
  message.generation = meta->generation;
  std::string bytes;
  try {
    bytes = encode_frame(InitMessage::kType, message.encode().payload, settings_.max_frame_payload);
  } catch (const FrameError& error) {
    done(done_ctx, MH_INVALID_ARGUMENT, error.what(), nullptr);
    return;
  }
  std::string refusal;
  mh_status status = MH_OK;
  {
    std::lock_guard callbacks(callback_mutex_);
    std::lock_guard sending(send_mutex_);
    {
      std::lock_guard lock(mutex_);
      if (ended_) {
        status = MH_INTERNAL;
        refusal = end_message_;
      } else if (init_called_ || phase_ != RunnerPhase::loaded) {
        status = MH_FAILED_PRECONDITION;
        refusal = "one runner serves one instance: init was called already";
      } else {
        init_called_ = true;
        init_ = PendingInit{done, done_ctx};
        host_ = host;
        phase_ = RunnerPhase::initializing;
      }
    }
    if (status == MH_OK) send_locked(std::move(bytes), false);
  }
  if (status != MH_OK) done(done_ctx, status, refusal.c_str(), nullptr);
}

void RunnerSession::predict(mh_instance* instance, const mh_request* request,
                            mh_response* response) {
  auto refuse = [response](mh_status status, const std::string& message) {
    response->finish(response, status, message.data(), message.size());
  };
  if (instance != token()) {
    refuse(MH_INTERNAL, "host bug: predict with an instance this runner did not make");
    return;
  }
  PredictMessage message;
  message.id = request->id == nullptr ? "" : request->id;
  message.route = request->route == nullptr ? "" : request->route;
  if (request->body != nullptr) message.body.assign(request->body, request->body_size);
  message.stream = request->stream != 0;
  message.deadline_unix_ms = request->deadline_unix_ms;
  message.call = next_call_.fetch_add(1, std::memory_order_relaxed);
  std::string bytes;
  try {
    bytes = encode_frame(PredictMessage::kType, message.encode(settings_.max_frame_payload).payload,
                         settings_.max_frame_payload);
  } catch (const FrameError&) {
    refuse(MH_INVALID_ARGUMENT, "model \"" + settings_.model + "\": the request body (" +
                                    std::to_string(message.body.size()) +
                                    " bytes) is larger than an isolated model takes (" +
                                    std::to_string(settings_.max_frame_payload) + " bytes)");
    return;
  }
  mh_status status = MH_OK;
  std::string refusal;
  {
    // The frame goes out under send_mutex_ taken before the call is open: a cancel of the call
    // (forward_cancel) is sent after it.
    std::lock_guard sending(send_mutex_);
    {
      std::lock_guard lock(mutex_);
      if (ended_) {
        status = MH_INTERNAL;
        refusal = end_message_;
      } else if (phase_ != RunnerPhase::serving) {
        status = MH_FAILED_PRECONDITION;
        refusal = "model \"" + settings_.model + "\" is not serving (its runner is " +
                  std::string(runner_phase_name(phase_)) + ")";
      } else {
        calls_.emplace(message.call, OpenCall{response});
      }
    }
    if (status == MH_OK && !send_locked(std::move(bytes), true)) {
      const std::size_t queued = outbound_bytes_;
      std::lock_guard lock(mutex_);
      // Not there any more when the runner's end answered it meanwhile.
      if (calls_.erase(message.call) == 1) {
        status = MH_RESOURCE_EXHAUSTED;
        refusal = "model \"" + settings_.model + "\": its runner is not taking requests (" +
                  std::to_string(queued) + " bytes queued); retry";
      }
    }
  }
  if (status != MH_OK) refuse(status, refusal);
}

void RunnerSession::cleanup(mh_instance* instance, mh_cleanup_done_fn done, void* done_ctx) {
  bool done_now = false;
  {
    std::lock_guard sending(send_mutex_);
    {
      std::lock_guard lock(mutex_);
      if (ended_) {
        done_now = true;
      } else if (instance != token() || phase_ != RunnerPhase::serving) {
        spdlog::error("[{}] cleanup without an instance, or requested twice; ignored",
                      settings_.log_name.empty() ? settings_.model : settings_.log_name);
        return;
      } else {
        cleanup_ = PendingCleanup{done, done_ctx};
        phase_ = RunnerPhase::cleaning_up;
      }
    }
    if (!done_now) {
      send_locked(encode_frame(CleanupMessage::kType, CleanupMessage{}.encode().payload), false);
    }
  }
  if (done_now) done(done_ctx);
}

mh_status RunnerSession::read_stats(mh_stats_write_fn write, void* write_ctx) {
  // From inside a host callback the reply could never be read: that thread reads it.
  if (on_io_thread()) return MH_UNAVAILABLE;
  StatsWait wait;
  StatsReadMessage message;
  {
    std::lock_guard sending(send_mutex_);
    {
      std::lock_guard lock(mutex_);
      if (ended_ || phase_ != RunnerPhase::serving) return MH_UNAVAILABLE;
      message.seq = next_stats_seq_++;
      stats_waits_.emplace(message.seq, &wait);
    }
    send_locked(encode_frame(StatsReadMessage::kType, message.encode().payload), false);
  }
  {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, settings_.stats_timeout, [&] { return wait.answered || ended_; });
    stats_waits_.erase(message.seq);
    if (!wait.answered) return MH_UNAVAILABLE;
  }
  // As the plugin's own read would: `write` as many times as the plugin called it.
  for (std::uint32_t i = 0; i < wait.reply.writes; ++i) {
    write(write_ctx, wait.reply.json.data(), wait.reply.json.size());
  }
  return wait.reply.status;
}

void RunnerSession::set_crash_callback(ProcessBackend::CrashCallback callback) {
  std::optional<RunnerCrash> happened;
  ProcessBackend::CrashCallback to_call;
  {
    std::lock_guard callbacks(callback_mutex_);
    if (released_) return;
    crash_callback_ = std::move(callback);
    crash_reported_ = false;  // a new callback hears of a crash that happened already
    std::lock_guard lock(mutex_);
    if (crash_ && crash_callback_) {
      crash_reported_ = true;
      happened = crash_;
      to_call = crash_callback_;
    }
  }
  // Outside the locks: the callback may drop the backend.
  if (happened) to_call(*happened);
}

pid_t RunnerSession::pid() const {
  std::lock_guard lock(mutex_);
  return pid_;
}

RunnerPhase RunnerSession::phase() const {
  std::lock_guard lock(mutex_);
  return phase_;
}

std::size_t RunnerSession::in_flight() const {
  std::lock_guard lock(mutex_);
  return calls_.size();
}

std::optional<RunnerExit> RunnerSession::exit_status() const {
  std::lock_guard lock(mutex_);
  return exit_;
}

std::optional<RunnerExit> RunnerSession::wait_for_exit(std::chrono::milliseconds limit) const {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, limit, [&] { return exit_.has_value(); });
  return exit_;
}

bool wait_for_runner_io_threads(std::chrono::milliseconds timeout) {
  std::unique_lock lock(io_threads_mutex);
  return io_threads_ended.wait_for(lock, timeout, [] { return io_threads_live == 0; });
}

}  // namespace mh::isolation
