#include "plugin_host.hpp"

#include "isolation/runner_contract.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <thread>

namespace mh::runner {

namespace isolation = mh::isolation;

namespace {

// How many worker threads call into the plugin (its calls must return quickly).
constexpr std::size_t kWorkerThreads = 4;
// How long the reader may be in one inline predict call before the spare reads on.
constexpr std::chrono::milliseconds kTakeoverAfter{20};
// How long a finished call's memory is kept for detecting a second finish (a plugin bug).
constexpr auto kRetiredCallLifetime = std::chrono::seconds(1);
// Longer log lines are cut (a log line is no place for a payload).
constexpr std::size_t kMaxLogLine = 16 * 1024;

}  // namespace

[[noreturn]] void exit_runner(int code) {
  std::fflush(nullptr);
  ::_exit(code);
}

PluginHost::PluginHost(isolation::BlockingChannel& channel,
                       std::shared_ptr<host::PluginBackend> backend, std::string model)
    : channel_(channel),
      backend_(std::move(backend)),
      model_(std::move(model)),
      relay_(kTakeoverAfter),
      workers_(kWorkerThreads) {
  const auto* stats =
      static_cast<const mh_plugin_stats*>(backend_->get_extension(MH_PLUGIN_STATS_EXTENSION));
  if (stats != nullptr && MH_HAS_FIELD(stats, mh_plugin_stats, read) && stats->read != nullptr) {
    stats_ = stats;
  }
  host_.struct_size = sizeof(mh_host);
  host_.abi_version = MH_ABI_VERSION;
  host_.log = &PluginHost::log_fn;
  host_.get_extension = &PluginHost::get_extension_fn;
  host_.host_data = this;
}

void PluginHost::serve() {
  // The spare: reads in the reader's place when the plugin holds the reader too long. Never
  // joined: the runner ends with _exit.
  std::thread([this] {
    for (;;) read_frames(relay_.wait_for_turn());
  }).detach();
  read_frames(relay_.first_turn());
  for (;;) read_frames(relay_.wait_for_turn());
}

void PluginHost::read_frames(std::uint64_t turn) {
  for (;;) {
    try {
      std::optional<isolation::Frame> frame = channel_.receive();
      if (!frame) exit_runner(isolation::kRunnerExitClean);  // hostd closed the channel
      if (!dispatch(*frame, turn)) return;
    } catch (const isolation::FrameError& error) {
      std::fprintf(stderr, "mh-runner [%s]: %s\n", model_.c_str(), error.what());
      exit_runner(isolation::kRunnerExitProtocol);
    }
  }
}

bool PluginHost::dispatch(const isolation::Frame& frame, std::uint64_t turn) {
  using isolation::FrameType;
  switch (frame.type) {
    case FrameType::init:
      on_init(isolation::InitMessage::decode(frame));
      return true;
    case FrameType::predict:
      return on_predict(isolation::PredictMessage::decode(frame), turn);
    case FrameType::cancel:
      on_cancel(isolation::CancelMessage::decode(frame));
      return true;
    case FrameType::cleanup:
      isolation::CleanupMessage::decode(frame);
      on_cleanup();
      return true;
    case FrameType::stats_read:
      on_stats_read(isolation::StatsReadMessage::decode(frame));
      return true;
    default:
      throw isolation::FrameError("unexpected " +
                                  std::string(isolation::frame_type_name(frame.type)) +
                                  " frame from hostd");
  }
}

void PluginHost::send(const isolation::Frame& frame) {
  // hostd is gone (it closed the channel or died): nothing is left to serve.
  if (!channel_.send(frame)) exit_runner(isolation::kRunnerExitClean);
}

void PluginHost::log(mh_log_level level, std::string message) {
  if (message.size() > kMaxLogLine) {
    message.resize(kMaxLogLine);
    message += " [cut]";
  }
  isolation::LogMessage frame;
  frame.level = level;
  frame.message = std::move(message);
  send(frame.encode());
}

void PluginHost::log_fn(const mh_host* host, mh_log_level level, const char* message) {
  static_cast<PluginHost*>(host->host_data)->log(level, message == nullptr ? "" : message);
}

const void* PluginHost::get_extension_fn(const mh_host*, const char*) {
  return nullptr;  // ABI 1.0 hosts define no extensions
}

void PluginHost::on_init(isolation::InitMessage message) {
  workers_.post([this, message = std::move(message)] {
    mh_model_meta meta{};
    meta.struct_size = sizeof(mh_model_meta);
    meta.name = message.name.c_str();
    meta.files_dir = message.files_dir.c_str();
    meta.manifest_dir = message.manifest_dir.c_str();
    meta.config_json = message.config_json.c_str();
    meta.config_json_size = message.config_json.size();
    meta.generation = message.generation;
    backend_->init(&host_, &meta, &PluginHost::init_done_fn, this);
  });
}

void PluginHost::init_done_fn(void* context, mh_status status, const char* message,
                              mh_instance* instance) {
  auto* self = static_cast<PluginHost*>(context);
  if (self->init_reported_.exchange(true)) {
    self->log(MH_LOG_ERROR, "plugin bug: init's done called twice; ignored");
    return;
  }
  isolation::InitDoneMessage done;
  done.status = status;
  done.message = message == nullptr ? "" : message;
  if (status == MH_OK && instance == nullptr) {
    done.status = MH_INTERNAL;
    done.message = "plugin bug: init reported MH_OK without an instance";
  } else if (status != MH_OK && instance != nullptr) {
    self->log(MH_LOG_ERROR, "plugin bug: init failed but returned an instance");
  }
  if (done.status == MH_OK) {
    std::unique_lock lock(self->gate_);
    self->instance_ = instance;
  }
  self->send(done.encode());
}

bool PluginHost::on_predict(isolation::PredictMessage message, std::uint64_t turn) {
  const std::uint64_t id = message.call;
  auto call = std::make_shared<RunnerCall>(*this, std::move(message));
  {
    std::lock_guard lock(calls_mutex_);
    calls_[id] = call;
  }
  if (relay_.begin_inline()) {
    run_predict(call);
    return relay_.end_inline(turn);
  }
  workers_.post([this, call] {
    const auto started = std::chrono::steady_clock::now();
    run_predict(call);
    relay_.note_worker_call(std::chrono::steady_clock::now() - started);
  });
  return true;
}

void PluginHost::run_predict(const std::shared_ptr<RunnerCall>& call) {
  if (mh_status reason = call->stop_reason(); reason != MH_OK) {
    const char* text = reason == MH_DEADLINE_EXCEEDED
                           ? "the deadline passed before the request started"
                           : "cancelled before the request started";
    finish(*call, reason, text, std::strlen(text));
    return;
  }
  std::shared_lock lock(gate_);
  if (cleanup_started_ || instance_ == nullptr) {
    lock.unlock();
    const std::string text = "model " + model_ + " is unloading";
    finish(*call, MH_UNAVAILABLE, text.data(), text.size());
    return;
  }
  backend_->predict(instance_, call->request(), call->response());
}

void PluginHost::on_cancel(const isolation::CancelMessage& message) {
  std::lock_guard lock(calls_mutex_);
  // A call that finished meanwhile is simply not there any more.
  if (auto open = calls_.find(message.call); open != calls_.end()) {
    open->second->cancel(message.status);
  }
}

mh_status PluginHost::write(RunnerCall& call, const char* data, std::size_t size) {
  if (call.finished()) {
    log(MH_LOG_ERROR, "plugin bug: write after finish on request " + call.id() + " ignored");
    return MH_FAILED_PRECONDITION;
  }
  if (!call.stream()) return MH_FAILED_PRECONDITION;
  if (mh_status reason = call.stop_reason(); reason != MH_OK) return reason;
  isolation::WriteMessage chunk;
  chunk.call = call.call();
  chunk.data.assign(data == nullptr ? "" : data, data == nullptr ? 0 : size);
  try {
    send(chunk.encode(channel_.max_payload()));
  } catch (const isolation::FrameError&) {
    log(MH_LOG_ERROR, "request " + call.id() + ": a chunk of " + std::to_string(size) +
                          " bytes is larger than an isolated model may send (" +
                          std::to_string(channel_.max_payload()) + " bytes); not sent");
    return MH_RESOURCE_EXHAUSTED;
  }
  return MH_OK;
}

void PluginHost::finish(RunnerCall& call, mh_status status, const char* body, std::size_t size) {
  if (!call.mark_finished()) {
    log(MH_LOG_ERROR, "plugin bug: a second finish on request " + call.id() + " ignored");
    return;
  }
  isolation::FinishMessage done;
  done.call = call.call();
  done.status = status;
  done.body.assign(body == nullptr ? "" : body, body == nullptr ? 0 : size);
  isolation::Frame frame;
  try {
    frame = done.encode(channel_.max_payload());
  } catch (const isolation::FrameError&) {
    done.status = MH_INTERNAL;
    done.body = "the plugin's reply (" + std::to_string(size) +
                " bytes) is larger than an isolated model may send (" +
                std::to_string(channel_.max_payload()) + " bytes)";
    frame = done.encode();
  }
  send(frame);
  retire(call.call());
}

void PluginHost::retire(std::uint64_t id) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(calls_mutex_);
  while (!retired_.empty() && now - retired_.front().first > kRetiredCallLifetime) {
    retired_.pop_front();
  }
  if (auto open = calls_.find(id); open != calls_.end()) {
    retired_.emplace_back(now, std::move(open->second));
    calls_.erase(open);
  }
}

void PluginHost::on_cleanup() {
  workers_.post([this] {
    mh_instance* instance = nullptr;
    {
      std::unique_lock lock(gate_);
      if (cleanup_started_) return;
      cleanup_started_ = true;
      instance = instance_;
    }
    if (instance == nullptr) {
      cleanup_done_fn(this);
      return;
    }
    backend_->cleanup(instance, &PluginHost::cleanup_done_fn, this);
  });
}

void PluginHost::cleanup_done_fn(void* context) {
  auto* self = static_cast<PluginHost*>(context);
  self->send(isolation::CleanupDoneMessage{}.encode());
  exit_runner(isolation::kRunnerExitClean);
}

void PluginHost::on_stats_read(const isolation::StatsReadMessage& message) {
  isolation::StatsReplyMessage reply;
  reply.seq = message.seq;
  struct Written {
    std::uint32_t calls = 0;
    std::string json;
  } written;
  auto collect = [](void* context, const char* json, std::size_t size) noexcept {
    auto* out = static_cast<Written*>(context);
    try {
      if (++out->calls == 1 && json != nullptr) out->json.assign(json, size);
    } catch (...) {
      out->json.clear();
    }
  };
  if (stats_ == nullptr) {
    reply.status = MH_UNIMPLEMENTED;
  } else {
    // Never waits: a stats read that finds cleanup under way answers "unavailable".
    std::shared_lock lock(gate_, std::try_to_lock);
    if (!lock.owns_lock() || cleanup_started_ || instance_ == nullptr) {
      reply.status = MH_UNAVAILABLE;
    } else {
      reply.status = stats_->read(instance_, collect, &written);
      reply.writes = written.calls;
      reply.json = std::move(written.json);
    }
  }
  try {
    send(reply.encode(channel_.max_payload()));
  } catch (const isolation::FrameError&) {
    reply.status = MH_INTERNAL;
    reply.writes = 0;
    reply.json.clear();
    send(reply.encode());
  }
}

}  // namespace mh::runner
