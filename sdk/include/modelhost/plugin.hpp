// modelhost C++ helper for plugin authors (header-only, C++20).
//
// Write one class and one macro:
//
//   class MyModel {
//    public:
//     explicit MyModel(const mh::ModelContext& context);      // init: throw to fail
//     void predict(mh::Request request, mh::Response& response); // answer now, or move
//                                                                // the response to answer later
//     ~MyModel();                                               // cleanup
//   };
//   MH_PLUGIN(MyModel, "my-model", "0.1.0", "What it does")
//
// What the helper does for you:
// - init runs the constructor on a plugin thread and reports the outcome; cleanup waits for
//   running predicts, finishes queued ones with MH_CANCELLED, runs the destructor, reports.
// - predict runs on a small pool of plugin threads (Model::kWorkerThreads, default 4), so a
//   synchronous predict never blocks the host. A model that is asynchronous itself declares
//   `static constexpr bool kPredictInline = true;`: predict is then called on the host's
//   thread and must only queue the work.
// - Synchronous style: write chunks and finish before predict returns. Asynchronous style: move
//   the Request and the Response (`std::move(response)`) into your own queue and finish later,
//   from any thread. A Response still held by the helper when predict throws is answered with
//   the exception; one that predict neither finished nor moved away answers MH_INTERNAL.
// - Exceptions never cross the boundary: mh::Error(code, message) becomes that status;
//   any other std::exception becomes MH_INTERNAL with what(). A Response destroyed without a
//   finish answers MH_INTERNAL, so a forgotten finish never hangs a client.
//
// ABI version. mh_plugin_get returns NULL — the host then refuses the plugin, naming its own
// ABI version — when the host's major differs from the one this header defines, or when the
// host's minor is older than the one the plugin was built against (a newer SDK may hand the
// plugin features an older host lacks). A plugin that uses nothing newer can accept older
// hosts of the same major by declaring the oldest it supports:
//   static constexpr uint32_t kMinimumHostAbi = MH_ABI_MAKE_VERSION(1, 0);
//
// Extensions (plugin.h, "Plugin extensions"), all optional:
// - Stats: a member `std::string stats()` returning one JSON object of the model's counters
//   makes the plugin export MH_PLUGIN_STATS_EXTENSION (GET /v1/models/{name}/stats). It is
//   called on a host thread, concurrently with predict, and must be quick (read counters,
//   never wait for model work); an exception makes the host answer with an error.
// - Anything else: `static const void* get_extension(std::string_view id) noexcept` returns
//   the plugin's table for `id` (valid until the library unloads), or nullptr; it is asked
//   before the helper's own extensions. A table's functions receive the host's mh_instance*;
//   mh::model_of<MyModel>(instance) gives the model behind it.
#ifndef MODELHOST_PLUGIN_HPP
#define MODELHOST_PLUGIN_HPP

#include <modelhost/plugin.h>

#include <concepts>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace mh {

// An error with a status code: throw it from the constructor or predict.
class Error : public std::runtime_error {
 public:
  Error(mh_status code, const std::string& message) : std::runtime_error(message), code_(code) {}
  mh_status code() const noexcept { return code_; }

 private:
  mh_status code_;
};

// What init knows about the model. Copied out of mh_model_meta, so it may be kept.
struct ModelContext {
  std::string name;
  std::string files_dir;
  std::string manifest_dir;
  std::string config_json;
  uint64_t generation = 0;
  const mh_host* host = nullptr;  // valid until cleanup completes

  void log(mh_log_level level, const std::string& message) const noexcept {
    if (host != nullptr && host->log != nullptr) host->log(host, level, message.c_str());
  }
};

// A view of one request. Valid until its Response is finished (or destroyed).
class Request {
 public:
  explicit Request(const mh_request* request) noexcept : request_(request) {}
  std::string_view id() const noexcept { return request_->id; }
  std::string_view route() const noexcept { return request_->route; }
  std::string_view body() const noexcept { return {request_->body, request_->body_size}; }
  bool stream() const noexcept { return request_->stream != 0; }
  int64_t deadline_unix_ms() const noexcept { return request_->deadline_unix_ms; }
  const mh_request* raw() const noexcept { return request_; }

 private:
  const mh_request* request_;
};

// The way back for one request: write chunks, then finish exactly once. Move-only.
class Response {
 public:
  explicit Response(mh_response* response) noexcept : response_(response) {}
  Response(Response&& other) noexcept : response_(std::exchange(other.response_, nullptr)) {}
  Response& operator=(Response&& other) noexcept {
    if (this != &other) {
      drop();
      response_ = std::exchange(other.response_, nullptr);
    }
    return *this;
  }
  Response(const Response&) = delete;
  Response& operator=(const Response&) = delete;
  ~Response() { drop(); }

  // Sends a chunk of a streamed reply. False once the client is gone or the deadline passed.
  bool write(std::string_view chunk) noexcept {
    if (response_ == nullptr) return false;
    return response_->write(response_, chunk.data(), chunk.size()) == MH_OK;
  }
  // MH_OK, MH_CANCELLED or MH_DEADLINE_EXCEEDED.
  mh_status cancellation() const noexcept {
    return response_ == nullptr ? MH_CANCELLED : response_->check_cancelled(response_);
  }
  bool should_stop() const noexcept { return cancellation() != MH_OK; }

  void finish(std::string_view body) noexcept { complete(MH_OK, body); }
  void fail(mh_status status, std::string_view message) noexcept { complete(status, message); }
  bool finished() const noexcept { return response_ == nullptr; }

 private:
  void complete(mh_status status, std::string_view body) noexcept {
    mh_response* response = std::exchange(response_, nullptr);
    if (response != nullptr) response->finish(response, status, body.data(), body.size());
  }
  void drop() noexcept {
    if (response_ != nullptr) fail(MH_INTERNAL, "the plugin dropped the request without an answer");
  }
  mh_response* response_;
};

namespace sdk {

// Runs `body`, turning any exception into a failed response.
template <typename Body>
void answer_or_fail(Response& response, Body&& body) noexcept {
  try {
    body();
  } catch (const Error& error) {
    response.fail(error.code(), error.what());
  } catch (const std::exception& error) {
    response.fail(MH_INTERNAL, error.what());
  } catch (...) {
    response.fail(MH_INTERNAL, "unknown exception in plugin");
  }
}

// Whether a plugin that needs ABI `required` can run on a host that speaks `host`: the majors
// match and the host's minor is at least the required one.
constexpr bool host_abi_supported(uint32_t host, uint32_t required) noexcept {
  return MH_ABI_MAJOR_OF(host) == MH_ABI_MAJOR_OF(required) &&
         MH_ABI_MINOR_OF(host) >= MH_ABI_MINOR_OF(required);
}

// The oldest host ABI the plugin accepts: Model::kMinimumHostAbi, else the version it was
// built against.
template <typename Model>
constexpr uint32_t minimum_host_abi() {
  if constexpr (requires { Model::kMinimumHostAbi; }) {
    constexpr uint32_t minimum = Model::kMinimumHostAbi;
    static_assert(MH_ABI_MAJOR_OF(minimum) == MH_ABI_VERSION_MAJOR &&
                      MH_ABI_MINOR_OF(minimum) <= MH_ABI_VERSION_MINOR,
                  "kMinimumHostAbi must be of this header's major and not newer than it");
    return minimum;
  } else {
    return MH_ABI_VERSION;
  }
}

// `std::string stats()`: the model serves MH_PLUGIN_STATS_EXTENSION.
template <typename Model>
concept HasStats = requires(Model& model) {
  { model.stats() } -> std::convertible_to<std::string>;
};

// `static const void* get_extension(std::string_view)`: the model's own extensions.
template <typename Model>
concept HasExtensions = requires(std::string_view id) {
  { Model::get_extension(id) } -> std::convertible_to<const void*>;
};

template <typename Model>
constexpr unsigned worker_threads() {
  if constexpr (requires { Model::kWorkerThreads; }) {
    return Model::kWorkerThreads;
  } else {
    return 4;
  }
}

template <typename Model>
constexpr bool predict_inline() {
  if constexpr (requires { Model::kPredictInline; }) {
    return Model::kPredictInline;
  } else {
    return false;
  }
}

// One model instance: the user's object plus the threads that run it.
template <typename Model>
class Instance {
 public:
  explicit Instance(ModelContext context) : context_(std::move(context)) {}

  // Builds the model on the first worker and reports through done. Called once.
  void start(mh_init_done_fn done, void* done_ctx) {
    const unsigned threads = predict_inline<Model>() ? 1u : worker_threads<Model>();
    for (unsigned i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
    enqueue([this, done, done_ctx] {
      mh_status status = MH_OK;
      std::string message;
      try {
        model_ = std::make_unique<Model>(context_);
      } catch (const Error& error) {
        status = error.code();
        message = error.what();
      } catch (const std::exception& error) {
        status = MH_INTERNAL;
        message = error.what();
      } catch (...) {
        status = MH_INTERNAL;
        message = "unknown exception in plugin init";
      }
      if (status == MH_OK) {
        done(done_ctx, MH_OK, "", reinterpret_cast<mh_instance*>(this));
      } else {
        // The host never calls cleanup after a failed init, so the threads go now; `this`
        // is deleted by a thread of its own that owns nothing of ours.
        done(done_ctx, status, message.c_str(), nullptr);
        std::thread([this] { delete this; }).detach();
      }
    });
  }

  // The model; only between init's done (MH_OK) and cleanup, as the host guarantees.
  Model* model() noexcept { return model_.get(); }

  void predict(const mh_request* request, mh_response* response) noexcept {
    if constexpr (predict_inline<Model>()) {
      Response answer(response);
      answer_or_fail(answer, [&] { model_->predict(Request(request), answer); });
    } else {
      // A queued predict that never runs (cleanup came first) is answered MH_CANCELLED by
      // PendingAnswer's destructor, so no request is ever left open.
      auto pending = std::make_shared<PendingAnswer>(response);
      enqueue([this, request, pending] {
        Response answer(std::exchange(pending->response, nullptr));
        answer_or_fail(answer, [&] { model_->predict(Request(request), answer); });
      });
    }
  }

  // Stops the workers, destroys the model, reports. Runs on a thread of its own so it never
  // blocks the host; the host unloads the library only well after done (see plugin.h).
  void stop(mh_cleanup_done_fn done, void* done_ctx) {
    std::thread([this, done, done_ctx] {
      delete this;
      done(done_ctx);
    }).detach();
  }

  ~Instance() {
    std::deque<std::function<void()>> abandoned;
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      abandoned.swap(queue_);
    }
    wake_.notify_all();
    for (auto& thread : workers_) {
      if (thread.get_id() == std::this_thread::get_id()) {
        thread.detach();
      } else if (thread.joinable()) {
        thread.join();
      }
    }
    abandoned.clear();  // answers each queued predict with MH_CANCELLED (PendingAnswer)
    model_.reset();
  }

 private:
  struct PendingAnswer {
    explicit PendingAnswer(mh_response* pending) : response(pending) {}
    PendingAnswer(const PendingAnswer&) = delete;
    PendingAnswer& operator=(const PendingAnswer&) = delete;
    ~PendingAnswer() {
      static constexpr std::string_view kMessage = "the model is shutting down";
      if (response != nullptr)
        response->finish(response, MH_CANCELLED, kMessage.data(), kMessage.size());
    }
    mh_response* response;
  };

  bool enqueue(std::function<void()> task) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return false;
      queue_.push_back(std::move(task));
    }
    wake_.notify_one();
    return true;
  }

  void work() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping and nothing left to run
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();
    }
  }

  ModelContext context_;
  std::unique_ptr<Model> model_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

template <typename Model>
struct Trampolines {
  static void init(const mh_host* host, const mh_model_meta* meta, mh_init_done_fn done,
                   void* done_ctx) noexcept {
    try {
      ModelContext context;
      context.name = meta->name ? meta->name : "";
      context.files_dir = meta->files_dir ? meta->files_dir : "";
      context.manifest_dir = meta->manifest_dir ? meta->manifest_dir : "";
      context.config_json.assign(meta->config_json ? meta->config_json : "{}",
                                 meta->config_json ? meta->config_json_size : 2);
      context.generation = meta->generation;
      context.host = host;
      auto* instance = new Instance<Model>(std::move(context));  // owned by the host's handle
      instance->start(done, done_ctx);
    } catch (const std::exception& error) {
      done(done_ctx, MH_INTERNAL, error.what(), nullptr);
    } catch (...) {
      done(done_ctx, MH_INTERNAL, "unknown exception in plugin init", nullptr);
    }
  }

  static void predict(mh_instance* instance, const mh_request* request,
                      mh_response* response) noexcept {
    reinterpret_cast<Instance<Model>*>(instance)->predict(request, response);
  }

  static void cleanup(mh_instance* instance, mh_cleanup_done_fn done, void* done_ctx) noexcept {
    reinterpret_cast<Instance<Model>*>(instance)->stop(done, done_ctx);
  }

  static mh_status read_stats(mh_instance* instance, mh_stats_write_fn write,
                              void* write_ctx) noexcept {
    try {
      Model* model = reinterpret_cast<Instance<Model>*>(instance)->model();
      if (model == nullptr) return MH_FAILED_PRECONDITION;
      const std::string json = model->stats();
      write(write_ctx, json.data(), json.size());
      return MH_OK;
    } catch (const Error& error) {
      return error.code();
    } catch (...) {
      return MH_INTERNAL;
    }
  }

  static const void* get_extension(const char* extension_id) noexcept {
    if (extension_id == nullptr) return nullptr;
    const std::string_view id(extension_id);
    if constexpr (HasExtensions<Model>) {
      if (const void* table = Model::get_extension(id)) return table;
    }
    if constexpr (HasStats<Model>) {
      static const mh_plugin_stats stats = {sizeof(mh_plugin_stats), &read_stats};
      if (id == MH_PLUGIN_STATS_EXTENSION) return &stats;
    }
    return nullptr;
  }
};

template <typename Model>
const mh_plugin* plugin_table(const char* name, const char* version, const char* description,
                              uint32_t host_abi_version) noexcept {
  static const mh_plugin table = {
      sizeof(mh_plugin),
      MH_ABI_VERSION,
      name,
      version,
      description,
      &Trampolines<Model>::init,
      &Trampolines<Model>::predict,
      &Trampolines<Model>::cleanup,
      HasStats<Model> || HasExtensions<Model> ? &Trampolines<Model>::get_extension : nullptr,
  };
  // NULL makes the host refuse the plugin with its own version in the message.
  if (!host_abi_supported(host_abi_version, minimum_host_abi<Model>())) return nullptr;
  return &table;
}

}  // namespace sdk

// The model behind an mh_instance* the host passed to one of the plugin's extension functions.
// Valid between init's done (MH_OK) and cleanup, as the host guarantees for those calls.
template <typename Model>
Model& model_of(mh_instance* instance) noexcept {
  return *reinterpret_cast<sdk::Instance<Model>*>(instance)->model();
}

}  // namespace mh

// Exports the plugin's one entry point for `ModelClass`. Use once, at namespace scope.
#define MH_PLUGIN(ModelClass, name, version, description)                                     \
  extern "C" MH_EXPORT const mh_plugin* mh_plugin_get(uint32_t host_abi_version) {            \
    return ::mh::sdk::plugin_table<ModelClass>(name, version, description, host_abi_version); \
  }

#endif  // MODELHOST_PLUGIN_HPP
