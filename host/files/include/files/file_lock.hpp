// A cross-process lock on a target directory: flock() on <target>/.modelhost-sync.lock.
// flock locks belong to an open file description, so two threads of one process that each
// acquire a DirLock exclude each other just as two processes do. The kernel drops the lock
// when the holder dies, so a crashed hostd never leaves the cache locked.
#pragma once

#include <functional>
#include <stop_token>

#include "files/unique_fd.hpp"

namespace mh::files {

class DirLock {
 public:
  // Blocks until the lock on `dir_fd` is held. Calls `on_wait` once if it has to wait.
  // Throws SyncError: cancelled when `stop` is requested while waiting, permanent on I/O errors.
  static DirLock acquire(int dir_fd, const std::stop_token& stop,
                         const std::function<void()>& on_wait = {});

  DirLock(DirLock&&) noexcept = default;
  DirLock& operator=(DirLock&&) noexcept = default;
  ~DirLock() = default;  // closing the descriptor releases the lock

 private:
  explicit DirLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace mh::files
