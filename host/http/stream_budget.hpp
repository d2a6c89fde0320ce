#pragma once
// Back-pressure for one streamed reply: the bytes handed to the connection but not yet taken by
// the socket, bounded by --max-stream-buffer-bytes. A producer (the plugin's write, on any
// thread) reserves room before it queues a chunk; the connection gives the room back once the
// socket took the bytes. So a client that stops reading costs at most the bound (plus one
// chunk when nothing was queued: any single chunk may go out), never more. Private to the
// server.
#include <atomic>
#include <cstddef>

namespace mh::host {

class StreamBudget {
 public:
  explicit StreamBudget(std::size_t limit) : limit_(limit) {}

  // Room for `bytes` more: false (and nothing reserved) when something is unsent and `bytes`
  // more would pass the limit. [thread: any]
  bool reserve(std::size_t bytes) noexcept {
    std::size_t unsent = unsent_.load();
    do {
      if (unsent > 0 && unsent + bytes > limit_) return false;
    } while (!unsent_.compare_exchange_weak(unsent, unsent + bytes));
    return true;
  }
  // The socket took `bytes` that were reserved. [thread: any]
  void release(std::size_t bytes) noexcept { unsent_.fetch_sub(bytes); }
  std::size_t unsent() const noexcept { return unsent_.load(); }
  std::size_t limit() const noexcept { return limit_; }

 private:
  const std::size_t limit_;
  std::atomic<std::size_t> unsent_{0};
};

}  // namespace mh::host
