#include "model/model_instance.hpp"

#include <spdlog/spdlog.h>
#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <thread>
#include <vector>

namespace mh::host {

namespace asio = boost::asio;

namespace {
// How long a finished call's memory is kept for detecting a second finish (a plugin bug).
constexpr auto kRetiredCallLifetime = std::chrono::seconds(1);
}  // namespace

void log_plugin_line(const std::string& who, mh_log_level level, const char* message) {
  spdlog::level::level_enum host_level = spdlog::level::info;
  switch (level) {
    case MH_LOG_TRACE:
      host_level = spdlog::level::trace;
      break;
    case MH_LOG_DEBUG:
      host_level = spdlog::level::debug;
      break;
    case MH_LOG_INFO:
      host_level = spdlog::level::info;
      break;
    case MH_LOG_WARN:
      host_level = spdlog::level::warn;
      break;
    case MH_LOG_ERROR:
      host_level = spdlog::level::err;
      break;
  }
  spdlog::log(host_level, "[{}] {}", who, message == nullptr ? "" : message);
}

// The context of one init call; alive until the plugin's done (or for good if it never comes).
struct ModelInstance::InitCall {
  std::shared_ptr<ModelInstance> owner;
  std::shared_ptr<InitCall> self;
  std::mutex mutex;
  bool reported = false;  // done or the timeout answered the registry already
  InitDone done;
  std::unique_ptr<asio::steady_timer> timer;
};

struct ModelInstance::CleanupCall {
  std::shared_ptr<ModelInstance> owner;
  std::function<void()> done;
};

std::shared_ptr<ModelInstance> ModelInstance::create(InstanceSpec spec,
                                                     std::shared_ptr<PluginBackend> backend,
                                                     asio::any_io_executor timers,
                                                     asio::any_io_executor workers) {
  return std::shared_ptr<ModelInstance>(new ModelInstance(std::move(spec), std::move(backend),
                                                          std::move(timers), std::move(workers)));
}

ModelInstance::ModelInstance(InstanceSpec spec, std::shared_ptr<PluginBackend> backend,
                             asio::any_io_executor timers, asio::any_io_executor workers)
    : spec_(std::move(spec)),
      log_name_(spec_.name + "#" + std::to_string(spec_.generation)),
      backend_(std::move(backend)),
      timers_(std::move(timers)),
      workers_(std::move(workers)),
      admission_(spec_.max_concurrency, spec_.max_queue) {
  host_.struct_size = sizeof(mh_host);
  host_.abi_version = MH_ABI_VERSION;
  host_.log = &ModelInstance::log_fn;
  host_.get_extension = &ModelInstance::get_extension_fn;
  host_.host_data = this;
}

ModelInstance::~ModelInstance() {
  {
    std::lock_guard lock(retired_mutex_);
    retired_.clear();
  }
  // backend_ goes with this object: an in-process one hands its library to the unloader.
}

void ModelInstance::log_fn(const mh_host* host, mh_log_level level, const char* message) {
  log_plugin_line(static_cast<const ModelInstance*>(host->host_data)->log_name_, level, message);
}

const void* ModelInstance::get_extension_fn(const mh_host*, const char*) {
  return nullptr;  // ABI 1.0 hosts define no extensions
}

void ModelInstance::init(std::chrono::milliseconds timeout, InitDone done) {
  auto call = std::make_shared<InitCall>();
  call->owner = shared_from_this();
  call->self = call;
  call->done = std::move(done);
  call->timer = std::make_unique<asio::steady_timer>(timers_, timeout);
  // The timer holds the call weakly: once the plugin answered, the call may go.
  call->timer->async_wait([weak = std::weak_ptr<InitCall>(call),
                           timeout](const boost::system::error_code& error) {
    if (error) return;
    auto call = weak.lock();
    if (!call) return;
    InitDone done;
    {
      std::lock_guard lock(call->mutex);
      if (call->reported) return;
      call->reported = true;
      done = std::move(call->done);
    }
    done(MH_DEADLINE_EXCEEDED,
         "init did not finish within " + std::to_string(timeout.count()) + " ms (load timeout)");
  });

  mh_model_meta meta{};
  const std::string files_dir = spec_.files_dir.string();
  const std::string manifest_dir = spec_.manifest_dir.string();
  meta.struct_size = sizeof(mh_model_meta);
  meta.name = spec_.name.c_str();
  meta.files_dir = files_dir.c_str();
  meta.manifest_dir = manifest_dir.c_str();
  meta.config_json = spec_.config_json.c_str();
  meta.config_json_size = spec_.config_json.size();
  meta.generation = spec_.generation;
  InitCall* context = call.get();
  call.reset();  // from here the plugin's done owns the call (through call->self)
  backend_->init(&host_, &meta, &ModelInstance::init_done_fn, context);
}

void ModelInstance::init_done_fn(void* context, mh_status status, const char* message,
                                 mh_instance* instance) {
  auto* raw = static_cast<InitCall*>(context);
  std::shared_ptr<InitCall> call = std::move(raw->self);  // released when this returns
  if (!call) {
    spdlog::error("plugin bug: init's done called twice; ignored");
    return;
  }
  std::shared_ptr<ModelInstance> owner = call->owner;
  InitDone done;
  bool late = false;
  {
    std::lock_guard lock(call->mutex);
    late = call->reported;
    call->reported = true;
    done = std::move(call->done);
  }
  call->timer.reset();  // cancels the timeout; only this thread touches the timer now
  const std::string text = message == nullptr ? "" : message;
  if (status == MH_OK && instance == nullptr) {
    status = MH_INTERNAL;
    if (!late) {
      done(status, "plugin bug: init reported MH_OK without an instance");
      return;
    }
  }
  if (status == MH_OK) {
    {
      std::unique_lock lock(owner->gate_);
      owner->instance_ = instance;
    }
    if (late) {
      // The registry gave up on this generation already: release what init made.
      spdlog::warn("[{}] init finished after the load timeout; cleaning the instance up",
                   owner->log_name_);
      asio::post(owner->timers_, [owner] {
        owner->set_unloading();
        owner->cleanup(
            [owner] { spdlog::info("[{}] late instance cleaned up", owner->log_name_); });
      });
      return;
    }
  } else if (instance != nullptr) {
    spdlog::error("[{}] plugin bug: init failed but returned an instance", owner->log_name_);
  }
  if (!late) done(status, status == MH_OK ? std::string() : (text.empty() ? "init failed" : text));
}

Admission::Outcome ModelInstance::submit(const std::shared_ptr<PredictCall>& call) {
  call->bind(shared_from_this(), &unloading_);
  call->set_stuck_watch(workers_, spec_.stuck_grace);
  if (spec_.timeout_ms > 0) {
    call->set_deadline(now_unix_ms() + static_cast<std::int64_t>(spec_.timeout_ms));
  }
  // An isolated model's predict only queues a frame for its runner (never blocks), so a call
  // admitted at once is sent from this thread, saving a worker hop per request. A call started
  // later, when a slot frees (on the thread that finished another call), and every in-process
  // call (plugin code, which may be slow to return) go through the workers.
  auto inline_start = std::make_shared<std::atomic<bool>>(spec_.isolation == Isolation::process);
  auto start = [self = shared_from_this(), call, inline_start,
                submitter = std::this_thread::get_id()] {
    call->mark_holds_slot();
    if (inline_start->exchange(false) && std::this_thread::get_id() == submitter) {
      self->run_predict(call);
      return;
    }
    asio::post(self->workers_, [self, call] { self->run_predict(call); });
  };
  Admission::Ticket ticket = 0;
  const Admission::Outcome outcome = admission_.admit(std::move(start), &ticket);
  inline_start->store(false);  // from now on `start` runs from release(): through the workers
  if (outcome == Admission::Outcome::queued) call->set_ticket(ticket);
  const bool admitted =
      outcome == Admission::Outcome::started || outcome == Admission::Outcome::queued;
  if (admitted && spec_.timeout_ms > 0) {
    // On the workers, whose tasks never block (unlike the lifecycle's syncs and cleanups), so
    // that the 504 leaves on time.
    call->start_deadline_timer(
        workers_, spec_.timeout_ms,
        [weak = weak_from_this()](const std::shared_ptr<PredictCall>& expired,
                                  const std::string& message) {
          if (auto self = weak.lock()) self->withdraw(expired, MH_DEADLINE_EXCEEDED, message);
        });
  }
  return outcome;
}

bool ModelInstance::withdraw(const std::shared_ptr<PredictCall>& call, mh_status status,
                             const std::string& message) {
  const Admission::Ticket ticket = call->ticket();
  if (ticket == 0 || !admission_.withdraw(ticket)) return false;
  call->finish_by_host(status, message);
  return true;
}

PluginStatsResult ModelInstance::read_stats() {
  PluginStatsResult result;
  const auto* stats =
      static_cast<const mh_plugin_stats*>(backend_->get_extension(MH_PLUGIN_STATS_EXTENSION));
  if (stats == nullptr || !MH_HAS_FIELD(stats, mh_plugin_stats, read) || stats->read == nullptr) {
    result.outcome = ModelOutcome::unimplemented;
    result.message = "model \"" + spec_.name + "\": its plugin " + backend_->name() +
                     " reports no stats (" MH_PLUGIN_STATS_EXTENSION ")";
    return result;
  }
  struct Written {
    std::string json;
    int calls = 0;
  } written;
  auto write = [](void* context, const char* json, std::size_t size) noexcept {
    auto* out = static_cast<Written*>(context);
    try {
      if (++out->calls == 1 && json != nullptr) out->json.assign(json, size);
    } catch (...) {
      out->json.clear();  // out of memory: reported as a plugin error below
    }
  };
  mh_status status = MH_OK;
  {
    // Shared, as a predict call holds it: the plugin's read never overlaps or follows the
    // start of cleanup.
    std::shared_lock lock(gate_);
    if (cleanup_started_ || instance_ == nullptr) {
      result.outcome = ModelOutcome::unavailable;
      result.message = "model \"" + spec_.name + "\" is unloading; retry";
      result.retry_after = std::chrono::seconds(1);
      return result;
    }
    status = stats->read(instance_, write, &written);
  }
  if (status != MH_OK) {
    result.outcome = ModelOutcome::plugin_error;
    result.plugin_status = status;
    result.message = "model \"" + spec_.name + "\": the plugin could not read its stats";
    return result;
  }
  boost::system::error_code error;
  const boost::json::value parsed = boost::json::parse(written.json, error);
  if (written.calls != 1 || error || !parsed.is_object()) {
    spdlog::error("[{}] plugin bug: mh.plugin.stats/1 read wrote {} time(s){}", log_name_,
                  written.calls, written.calls == 1 ? ", not one JSON object" : "");
    result.outcome = ModelOutcome::plugin_error;
    result.plugin_status = MH_INTERNAL;
    result.message = "model \"" + spec_.name + "\": the plugin's stats are not one JSON object";
    return result;
  }
  result.outcome = ModelOutcome::accepted;
  result.json = std::move(written.json);
  return result;
}

void ModelInstance::run_predict(const std::shared_ptr<PredictCall>& call) {
  if (mh_status reason = call->stop_reason(); reason != MH_OK) {
    call->finish_by_host(reason, reason == MH_DEADLINE_EXCEEDED
                                     ? "the deadline passed before the request started"
                                     : "cancelled before the request started");
    return;
  }
  std::shared_lock lock(gate_);
  if (cleanup_started_ || instance_ == nullptr) {
    lock.unlock();
    call->finish_by_host(MH_UNAVAILABLE, "model " + spec_.name + " is unloading");
    return;
  }
  requests_total_.fetch_add(1, std::memory_order_relaxed);
  mh_request* request = call->arm();
  {
    std::lock_guard running(running_mutex_);
    running_.emplace(call.get(), call);  // armed: its completion takes it out
  }
  backend_->predict(instance_, request, call->c_response());
}

void ModelInstance::set_unloading() {
  unloading_.store(true);
  std::vector<std::shared_ptr<PredictCall>> told;
  {
    std::lock_guard running(running_mutex_);
    for (const auto& [raw, weak] : running_) {
      if (auto call = weak.lock()) told.push_back(std::move(call));
    }
  }
  // Outside the lock: the timers' work may finish calls.
  for (const auto& call : told) call->watch_for_stuck();
}

void ModelInstance::request_stuck(const std::shared_ptr<PredictCall>& call) {
  stuck_now_.fetch_add(1);
  stuck_total_.fetch_add(1);
  const bool released = call->take_slot();
  const char* told = call->cancelled()                       ? "cancellation"
                     : !call->deadline_told() && unloading() ? "unload (the drain timeout passed)"
                                                             : "deadline";
  spdlog::warn("[{}] request {} is stuck: the plugin has not finished it {} ms after its {}; {}",
               log_name_, call->id(), spec_.stuck_grace.count(), told,
               released ? "its slot is released" : "it held no slot");
  if (released) admission_.release();
  if (stuck_callback_) stuck_callback_();
}

void ModelInstance::request_finished(std::shared_ptr<PredictCall> call, bool held_slot) {
  if (call) {
    {
      std::lock_guard running(running_mutex_);
      running_.erase(call.get());
    }
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(retired_mutex_);
    while (!retired_.empty() && now - retired_.front().first > kRetiredCallLifetime) {
      retired_.pop_front();
    }
    retired_.emplace_back(now, std::move(call));
  }
  if (held_slot) admission_.release();
}

void ModelInstance::cleanup(std::function<void()> done) {
  mh_instance* instance = nullptr;
  {
    std::unique_lock lock(gate_);
    if (cleanup_started_) {
      spdlog::error("[{}] cleanup requested twice; ignored", log_name_);
      return;
    }
    cleanup_started_ = true;
    instance = instance_;
  }
  if (instance == nullptr) {
    done();
    return;
  }
  auto call = std::make_unique<CleanupCall>(CleanupCall{shared_from_this(), std::move(done)});
  backend_->cleanup(instance, &ModelInstance::cleanup_done_fn, call.release());
}

void ModelInstance::cleanup_done_fn(void* context) {
  std::unique_ptr<CleanupCall> call(static_cast<CleanupCall*>(context));
  {
    std::unique_lock lock(call->owner->gate_);
    call->owner->instance_ = nullptr;
  }
  auto done = std::move(call->done);
  done();
  // `call` dies here; when it held the last reference, the instance goes and drops its
  // backend (an in-process library is handed to the unloader, never unloaded on this thread).
}

}  // namespace mh::host
