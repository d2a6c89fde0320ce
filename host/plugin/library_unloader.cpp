#include "plugin/library_unloader.hpp"

namespace mh::host {

LibraryUnloader::LibraryUnloader(std::chrono::milliseconds delay)
    : delay_(delay), thread_([this] { run(); }) {}

LibraryUnloader::~LibraryUnloader() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void LibraryUnloader::release_later(std::shared_ptr<const PluginLibrary> library) {
  if (!library) return;
  {
    std::lock_guard lock(mutex_);
    queue_.emplace_back(std::chrono::steady_clock::now() + delay_, std::move(library));
  }
  changed_.notify_all();
}

std::size_t LibraryUnloader::pending() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void LibraryUnloader::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (queue_.empty()) {
      if (stopping_) return;
      changed_.wait(lock);
      continue;
    }
    // Every entry waits the same delay, so the queue is in due order.
    auto due = queue_.front().first;
    if (std::chrono::steady_clock::now() < due) {
      changed_.wait_until(lock, due);
      continue;
    }
    auto library = std::move(queue_.front().second);
    queue_.pop_front();
    lock.unlock();
    library.reset();  // dlclose here when this was the last holder
    lock.lock();
  }
}

}  // namespace mh::host
