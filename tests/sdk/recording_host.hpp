#pragma once
// A minimal host for driving a plugin table directly in tests: it implements mh_host and
// mh_response and records every callback, so tests can check that each fired exactly once.
#include <modelhost/plugin.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mh::test {

// Waits (bounded) until `done()` is true; returns whether it became true.
template <typename Predicate>
bool wait_for(std::mutex& mutex, std::condition_variable& cv, Predicate done,
              std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  std::unique_lock lock(mutex);
  return cv.wait_for(lock, limit, done);
}

struct RecordingHost {
  mh_host host{};
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> log_lines;

  RecordingHost() {
    host.struct_size = sizeof(mh_host);
    host.abi_version = MH_ABI_VERSION;
    host.log = [](const mh_host* h, mh_log_level, const char* message) {
      auto* self = static_cast<RecordingHost*>(h->host_data);
      std::lock_guard lock(self->mutex);
      self->log_lines.emplace_back(message);
    };
    host.get_extension = [](const mh_host*, const char*) -> const void* { return nullptr; };
    host.host_data = this;
  }
};

// The outcome of one init call.
struct InitOutcome {
  std::mutex mutex;
  std::condition_variable changed;
  int calls = 0;
  mh_status status = MH_INTERNAL;
  std::string message;
  mh_instance* instance = nullptr;

  static void done(void* ctx, mh_status status, const char* message, mh_instance* instance) {
    auto* self = static_cast<InitOutcome*>(ctx);
    std::lock_guard lock(self->mutex);
    ++self->calls;
    self->status = status;
    self->message = message ? message : "";
    self->instance = instance;
    self->changed.notify_all();
  }
  bool wait() {
    return wait_for(mutex, changed, [this] { return calls > 0; });
  }
};

struct CleanupOutcome {
  std::mutex mutex;
  std::condition_variable changed;
  int calls = 0;
  static void done(void* ctx) {
    auto* self = static_cast<CleanupOutcome*>(ctx);
    std::lock_guard lock(self->mutex);
    ++self->calls;
    self->changed.notify_all();
  }
  bool wait() {
    return wait_for(mutex, changed, [this] { return calls > 0; });
  }
};

// One request and its recorded response.
struct RecordedCall {
  std::string id = "req-test";
  std::string route = "predict";
  std::string body;
  mh_request request{};
  mh_response response{};
  std::atomic<mh_status> cancellation{MH_OK};

  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> chunks;
  int finish_calls = 0;
  mh_status status = MH_INTERNAL;
  std::string final_body;

  RecordedCall(std::string body_text, bool stream) : body(std::move(body_text)) {
    request.struct_size = sizeof(mh_request);
    request.id = id.c_str();
    request.route = route.c_str();
    request.body = body.data();
    request.body_size = body.size();
    request.stream = stream ? 1 : 0;
    response.struct_size = sizeof(mh_response);
    response.host_data = this;
    response.write = [](mh_response* r, const char* data, size_t size) {
      auto* self = static_cast<RecordedCall*>(r->host_data);
      if (!self->request.stream) return MH_FAILED_PRECONDITION;
      std::lock_guard lock(self->mutex);
      self->chunks.emplace_back(data, size);
      return self->cancellation.load();
    };
    response.finish = [](mh_response* r, mh_status status, const char* data, size_t size) {
      auto* self = static_cast<RecordedCall*>(r->host_data);
      std::lock_guard lock(self->mutex);
      ++self->finish_calls;
      self->status = status;
      self->final_body.assign(data, size);
      self->changed.notify_all();
    };
    response.check_cancelled = [](const mh_response* r) {
      return static_cast<const RecordedCall*>(r->host_data)->cancellation.load();
    };
  }
  RecordedCall(const RecordedCall&) = delete;
  RecordedCall& operator=(const RecordedCall&) = delete;

  bool wait() {
    return wait_for(mutex, changed, [this] { return finish_calls > 0; });
  }
  // Gives a plugin that wrongly finishes twice the chance to do so before we count.
  int finish_calls_after_settling() {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::lock_guard lock(mutex);
    return finish_calls;
  }
};

}  // namespace mh::test
