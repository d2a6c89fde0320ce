#include "files/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "files/io_error.hpp"
#include "files/safe_path.hpp"

namespace mh::files {

DirLock DirLock::acquire(int dir_fd, const std::stop_token& stop,
                         const std::function<void()>& on_wait) {
  const std::string name(kLockFileName);
  UniqueFd fd(
      ::openat(dir_fd, name.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, kPrivateFileMode));
  if (!fd) throw permanent_error("cannot open lock file " + name + ": " + std::strerror(errno));
  bool told = false;
  for (;;) {
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) return DirLock(std::move(fd));
    if (errno != EWOULDBLOCK && errno != EINTR) {
      throw permanent_error("cannot lock " + name + ": " + std::strerror(errno));
    }
    if (!told && on_wait) on_wait();
    told = true;
    if (stop.stop_requested()) throw cancelled_error();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace mh::files
