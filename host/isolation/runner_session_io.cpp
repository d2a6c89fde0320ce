// The runner's I/O thread: spawns the runner, moves frames both ways, calls the host's
// callbacks, polls cancellation and watches the process (runner_session_end.cpp: its end).
#include "isolation/runner_contract.hpp"
#include "isolation/runner_locator.hpp"
#include "isolation/runner_spawn.hpp"
#include "runner_session.hpp"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>

namespace mh::isolation {

namespace {

using Clock = std::chrono::steady_clock;

// How often the runner's process is checked while its channel stays open (a plugin that
// forked a child keeps the channel open after the runner itself died).
constexpr auto kReapInterval = std::chrono::milliseconds(200);
constexpr std::size_t kReadBuffer = 64 * 1024;
constexpr int kReadsPerWakeup = 16;  // then writes and cancellation get their turn

spdlog::level::level_enum host_level(mh_log_level level) {
  switch (level) {
    case MH_LOG_TRACE:
      return spdlog::level::trace;
    case MH_LOG_DEBUG:
      return spdlog::level::debug;
    case MH_LOG_INFO:
      return spdlog::level::info;
    case MH_LOG_WARN:
      return spdlog::level::warn;
    case MH_LOG_ERROR:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

int milliseconds_until(Clock::time_point when) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(when - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, 60'000));
}

}  // namespace

void RunnerSession::run() {
  const std::string log_name = settings_.log_name.empty() ? settings_.model : settings_.log_name;
  try {
    RunnerCommand command;
    command.executable = settings_.runner.empty() ? find_runner_executable() : settings_.runner;
    command.arguments = {kModelArgument, log_name, kParentPidArgument, std::to_string(::getpid())};
    command.environment = settings_.limits.environment;
    SpawnedRunner spawned = spawn_runner(command);
    ::fcntl(spawned.channel.get(), F_SETFL, O_NONBLOCK);
    LoadMessage load;
    load.plugin_path = settings_.plugin_path.string();
    load.shown_path = shown_path();
    load.model = log_name;
    load.address_space_bytes = settings_.limits.address_space_bytes;
    load.core_dumps = settings_.limits.core_dumps;
    load.cpus = settings_.limits.cpus;
    load.max_frame_payload = settings_.max_frame_payload;
    std::lock_guard sending(send_mutex_);
    {
      std::lock_guard lock(mutex_);
      pid_ = spawned.pid;
      channel_ = std::move(spawned.channel);
    }
    send_locked(encode_frame(LoadMessage::kType, load.encode().payload), false);
  } catch (const std::exception& error) {
    std::lock_guard lock(mutex_);
    load_error_ = shown_path() + ": cannot run the plugin in a process of its own: " + error.what();
    end_message_ = *load_error_;
    ended_ = true;
    changed_.notify_all();
    return;
  }
  loop();
}

void RunnerSession::loop() {
  const auto handshake_deadline = Clock::now() + settings_.handshake_timeout;
  auto next_cancel_poll = Clock::now() + settings_.cancel_poll_interval;
  auto next_reap = Clock::now() + kReapInterval;
  std::optional<Clock::time_point> exit_deadline;
  bool reading = true;
  bool shut = false;
  for (;;) {
    if (!reading) {
      finish_session(wait_for_runner_exit());
      return;
    }
    const auto now = Clock::now();
    bool loading = false;
    bool close_now = false;
    Clock::time_point wake_at = now + kReapInterval;
    {
      std::lock_guard lock(mutex_);
      close_now = closing_ && !shut;
      if ((closing_ || phase_ == RunnerPhase::cleaned_up) && !exit_deadline) {
        exit_deadline = now + settings_.exit_grace;
      }
      if (exit_deadline && now >= *exit_deadline && pid_ > 0 && !reaped_) {
        ::kill(pid_, SIGKILL);  // done with it anyway: not reported as a crash
      }
      loading = phase_ == RunnerPhase::loading;
      if (loading && now >= handshake_deadline && !load_error_) {
        load_error_ = shown_path() + ": the runner did not load the plugin within " +
                      std::to_string(settings_.handshake_timeout.count()) + " ms";
        kill_locked("load timeout");
        changed_.notify_all();
      }
      if (!calls_.empty()) wake_at = std::min(wake_at, next_cancel_poll);
    }
    if (close_now) {
      // The owner let go: the runner reads the end of its channel and exits.
      std::lock_guard sending(send_mutex_);
      ::shutdown(channel_.get(), SHUT_WR);
      shut = true;
      stop_sending_locked();
    }
    if (loading) wake_at = std::min(wake_at, handshake_deadline);
    if (exit_deadline) wake_at = std::min(wake_at, *exit_deadline);
    wake_at = std::min(wake_at, next_reap);

    const bool want_out = want_out_.load();
    pollfd fds[2] = {{channel_.get(), static_cast<short>(POLLIN | (want_out ? POLLOUT : 0)), 0},
                     {wake_.get(), POLLIN, 0}};
    if (::poll(fds, 2, milliseconds_until(wake_at)) < 0 && errno != EINTR) {
      spdlog::error("[{}] poll on the runner's channel failed: {}", settings_.model,
                    std::strerror(errno));
      std::lock_guard lock(mutex_);
      kill_locked("hostd could not watch its channel");
    }
    if (fds[1].revents & POLLIN) {
      std::uint64_t count = 0;
      [[maybe_unused]] const ssize_t got = ::read(wake_.get(), &count, sizeof count);
    }
    if (fds[0].revents & POLLOUT) {
      std::lock_guard sending(send_mutex_);
      flush_locked();
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) reading = read_available();
    if (reading && Clock::now() >= next_cancel_poll) {
      poll_cancellations();
      next_cancel_poll = Clock::now() + settings_.cancel_poll_interval;
    }
    if (reading && Clock::now() >= next_reap) {
      next_reap = Clock::now() + kReapInterval;
      if (auto exit = reap_within(std::chrono::milliseconds(0))) {
        read_available();  // what it sent before it ended
        finish_session(*exit);
        return;
      }
    }
  }
}

void RunnerSession::flush_locked() {
  while (!outbound_.empty() && !write_broken_) {
    const std::string& front = outbound_.front();
    const ssize_t n = ::send(channel_.get(), front.data() + front_sent_, front.size() - front_sent_,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      front_sent_ += static_cast<std::size_t>(n);
      outbound_bytes_ -= static_cast<std::size_t>(n);
      if (front_sent_ == front.size()) {
        outbound_.pop_front();
        front_sent_ = 0;
      }
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return;
    } else {
      stop_sending_locked();  // the runner is gone; reading sees the end
    }
  }
  want_out_.store(false);
}

bool RunnerSession::read_available() {
  char buffer[kReadBuffer];
  for (int round = 0; round < kReadsPerWakeup; ++round) {
    const ssize_t n = ::recv(channel_.get(), buffer, sizeof buffer, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    if (n <= 0) {
      try {
        decoder_.finish();
      } catch (const FrameError& error) {
        spdlog::debug("[{}] the runner's channel ended mid-frame: {}", settings_.model,
                      error.what());
      }
      return false;
    }
    try {
      decoder_.feed(buffer, static_cast<std::size_t>(n));
      while (auto frame = decoder_.next()) handle_frame(*frame);
    } catch (const FrameError& error) {
      protocol_violation(error.what());
      return false;
    }
    // A short read emptied the socket: poll says when more comes (saves a recv per wake-up).
    if (static_cast<std::size_t>(n) < sizeof buffer) return true;
  }
  return true;
}

void RunnerSession::handle_frame(const Frame& frame) {
  switch (frame.type) {
    case FrameType::loaded:
      return on_loaded(LoadedMessage::decode(frame));
    case FrameType::load_failed: {
      std::lock_guard lock(mutex_);
      if (phase_ != RunnerPhase::loading) throw FrameError("unexpected load_failed frame");
      load_error_ = LoadFailedMessage::decode(frame).message;
      changed_.notify_all();
      return;
    }
    case FrameType::init_done:
      return on_init_done(InitDoneMessage::decode(frame));
    case FrameType::write:
      return on_write(WriteMessage::decode(frame));
    case FrameType::finish:
      return on_finish(FinishMessage::decode(frame));
    case FrameType::cleanup_done:
      CleanupDoneMessage::decode(frame);
      return on_cleanup_done();
    case FrameType::log:
      return on_log(LogMessage::decode(frame));
    case FrameType::stats_reply:
      return on_stats_reply(StatsReplyMessage::decode(frame));
    default:
      throw FrameError("unexpected " + std::string(frame_type_name(frame.type)) +
                       " frame from a runner");
  }
}

void RunnerSession::on_loaded(const LoadedMessage& message) {
  std::lock_guard lock(mutex_);
  if (phase_ != RunnerPhase::loading) throw FrameError("unexpected loaded frame");
  if (message.protocol_version != kProtocolVersion) {
    load_error_ = shown_path() + ": the runner speaks protocol " +
                  std::to_string(message.protocol_version) + ", hostd " +
                  std::to_string(kProtocolVersion) + " (install hostd and " +
                  kRunnerExecutableName + " from one build)";
    kill_locked("protocol mismatch");
  } else {
    loaded_ = message;
    phase_ = RunnerPhase::loaded;
  }
  changed_.notify_all();
}

void RunnerSession::on_init_done(const InitDoneMessage& message) {
  std::optional<PendingInit> init;
  {
    std::lock_guard lock(mutex_);
    if (!init_) throw FrameError("init_done without a pending init");
    init.swap(init_);
    phase_ = message.status == MH_OK ? RunnerPhase::serving : RunnerPhase::loaded;
  }
  init->done(init->done_ctx, message.status, message.message.c_str(),
             message.status == MH_OK ? token() : nullptr);
}

void RunnerSession::on_write(const WriteMessage& message) {
  mh_response* response = nullptr;
  {
    std::lock_guard lock(mutex_);
    auto open = calls_.find(message.call);
    if (open == calls_.end()) {
      throw FrameError("write for request " + std::to_string(message.call) + ", not in flight");
    }
    if (open->second.refused) {
      ++open->second.chunks_not_delivered;
      return;
    }
    response = open->second.response;
  }
  // Only this thread finishes a call, so `response` stays valid outside the lock.
  const mh_status status = response->write(response, message.data.data(), message.data.size());
  if (status == MH_RESOURCE_EXHAUSTED) {
    {
      std::lock_guard lock(mutex_);
      if (auto open = calls_.find(message.call); open != calls_.end()) open->second.refused = true;
    }
    spdlog::warn(
        "[{}] a chunk of request {} was refused (the client is not reading); the plugin "
        "is told at its next write",
        settings_.log_name.empty() ? settings_.model : settings_.log_name, message.call);
  }
  if (status == MH_CANCELLED || status == MH_DEADLINE_EXCEEDED || status == MH_RESOURCE_EXHAUSTED) {
    forward_cancel(message.call, status);
  }
}

void RunnerSession::on_finish(const FinishMessage& message) {
  mh_response* response = nullptr;
  std::uint64_t not_delivered = 0;
  {
    std::lock_guard lock(mutex_);
    auto open = calls_.find(message.call);
    if (open == calls_.end()) {
      throw FrameError("finish for request " + std::to_string(message.call) + ", not in flight");
    }
    response = open->second.response;
    not_delivered = open->second.chunks_not_delivered;
    calls_.erase(open);
  }
  if (not_delivered > 0) {
    spdlog::warn(
        "[{}] request {}: {} chunk(s) the plugin wrote after a refused one were not "
        "delivered",
        settings_.log_name.empty() ? settings_.model : settings_.log_name, message.call,
        not_delivered);
  }
  response->finish(response, message.status, message.body.data(), message.body.size());
}

void RunnerSession::on_cleanup_done() {
  std::optional<PendingCleanup> cleanup;
  {
    std::lock_guard callbacks(callback_mutex_);
    host_ = nullptr;  // valid only until cleanup's done
    std::lock_guard lock(mutex_);
    if (!cleanup_) throw FrameError("cleanup_done without a pending cleanup");
    cleanup.swap(cleanup_);
    phase_ = RunnerPhase::cleaned_up;
  }
  cleanup->done(cleanup->done_ctx);
}

void RunnerSession::on_log(const LogMessage& message) {
  std::lock_guard callbacks(callback_mutex_);
  if (released_) return;
  if (host_ != nullptr && host_->log != nullptr) {
    host_->log(host_, message.level, message.message.c_str());
  } else {
    spdlog::log(host_level(message.level), "[{}] {}",
                settings_.log_name.empty() ? settings_.model : settings_.log_name, message.message);
  }
}

void RunnerSession::on_stats_reply(const StatsReplyMessage& message) {
  std::lock_guard lock(mutex_);
  auto wait = stats_waits_.find(message.seq);
  if (wait == stats_waits_.end()) return;  // the reader stopped waiting
  wait->second->reply = message;
  wait->second->answered = true;
  changed_.notify_all();
}

void RunnerSession::poll_cancellations() {
  std::vector<std::pair<std::uint64_t, mh_response*>> open;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [call, state] : calls_) {
      if (state.cancel_sent == MH_OK) open.emplace_back(call, state.response);
    }
  }
  for (const auto& [call, response] : open) {
    const mh_status status = response->check_cancelled(response);
    if (status != MH_OK) forward_cancel(call, status);
  }
}

void RunnerSession::forward_cancel(std::uint64_t call, mh_status status) {
  std::lock_guard sending(send_mutex_);
  {
    std::lock_guard lock(mutex_);
    auto open = calls_.find(call);
    if (open == calls_.end() || open->second.cancel_sent != MH_OK) return;
    open->second.cancel_sent = status;
  }
  CancelMessage message;
  message.call = call;
  message.status = status;
  send_locked(encode_frame(CancelMessage::kType, message.encode().payload), false);
}

}  // namespace mh::isolation
