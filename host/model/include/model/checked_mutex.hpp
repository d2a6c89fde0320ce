#pragma once
// A std::mutex that knows which thread holds it, so that a function which needs it held can
// assert so (as SQLite does with sqlite3_mutex_held) instead of saying it only in its name.
// Meets BasicLockable and Lockable: use it with std::lock_guard and std::unique_lock.
#include <atomic>
#include <mutex>
#include <thread>

namespace mh::host {

class CheckedMutex {
 public:
  void lock() {
    mutex_.lock();
    owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  }
  bool try_lock() {
    if (!mutex_.try_lock()) return false;
    owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
    return true;
  }
  void unlock() {
    owner_.store(std::thread::id(), std::memory_order_relaxed);
    mutex_.unlock();
  }
  // Whether the calling thread holds it. Only meaningful as "yes, I do": another thread's
  // answer may change at once. For assert().
  bool held() const noexcept {
    return owner_.load(std::memory_order_relaxed) == std::this_thread::get_id();
  }

 private:
  std::mutex mutex_;
  std::atomic<std::thread::id> owner_{};
};

}  // namespace mh::host
