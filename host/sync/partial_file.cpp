#include "sync/partial_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "files/safe_path.hpp"
#include "sync/sync_error.hpp"

namespace mh::sync {

namespace {

std::string random_tag() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char digits[] = "0123456789abcdef";
  std::string tag(12, '0');
  std::uint64_t bits = rng();
  for (char& c : tag) {
    c = digits[bits & 15];
    bits >>= 4;
  }
  return tag;
}

std::string errno_text() {
  return std::strerror(errno);
}

}  // namespace

PartialFile::PartialFile(files::UniqueFd dir, files::UniqueFd fd, std::string file_name,
                         std::string partial, PartialFileOptions options)
    : dir_(std::move(dir)),
      fd_(std::move(fd)),
      file_name_(std::move(file_name)),
      partial_(std::move(partial)),
      options_(std::move(options)),
      throttle_start_(std::chrono::steady_clock::now()) {}

PartialFile PartialFile::create(files::UniqueFd dir, std::string file_name,
                                PartialFileOptions options) {
  for (int tries = 0;; ++tries) {
    std::string partial = mh::files::partial_name(file_name, random_tag());
    int fd = ::openat(dir.get(), partial.c_str(),
                      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, options.file_mode);
    if (fd >= 0) {
      ::fchmod(fd, options.file_mode);  // exactly, whatever the umask
      return PartialFile(std::move(dir), files::UniqueFd(fd), std::move(file_name),
                         std::move(partial), std::move(options));
    }
    if (errno != EEXIST || tries > 10) {
      throw permanent_error("cannot create " + partial + ": " + errno_text());
    }
  }
}

PartialFile PartialFile::resume(files::UniqueFd dir, std::string file_name, std::string partial,
                                PartialFileOptions options) {
  files::UniqueFd fd(
      ::openat(dir.get(), partial.c_str(), O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd) throw permanent_error("cannot reopen " + partial + ": " + errno_text());
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    throw permanent_error(partial + " is not a regular file");
  }
  if (static_cast<std::uint64_t>(st.st_size) > options.max_size) {
    throw permanent_error(partial + " holds more than the " + std::to_string(options.max_size) +
                          " bytes listed");
  }
  // A partial kept by an older version may be world-readable: make it private before going on.
  if ((st.st_mode & 07777) != options.file_mode && ::fchmod(fd.get(), options.file_mode) != 0) {
    throw permanent_error("cannot make " + partial + " private: " + errno_text());
  }
  PartialFile file(std::move(dir), std::move(fd), std::move(file_name), std::move(partial),
                   std::move(options));
  std::vector<char> buffer(1 << 20);
  for (;;) {
    if (file.options_.stop.stop_requested()) {
      file.done_ = true;  // leave it for the next run
      throw cancelled_error();
    }
    const ssize_t n = ::read(file.fd_.get(), buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw permanent_error("cannot read " + file.partial_ + ": " + errno_text());
    }
    if (n == 0) break;
    file.sha256_.update(buffer.data(), static_cast<std::size_t>(n));
    if (file.options_.md5) file.md5_.update(buffer.data(), static_cast<std::size_t>(n));
    file.size_ += static_cast<std::uint64_t>(n);
  }
  if (file.size_ > file.options_.max_size) {  // grew while it was read: not ours to trust
    throw permanent_error(file.partial_ + " holds more than the bytes listed");
  }
  file.flushed_ = file.size_;
  return file;  // the descriptor now sits at the end: write() appends
}

PartialFile::~PartialFile() {
  if (!done_ && dir_ && !partial_.empty()) ::unlinkat(dir_.get(), partial_.c_str(), 0);
}

void PartialFile::throttle(std::size_t size) {
  if (options_.max_bytes_per_sec == 0) return;
  throttled_bytes_ += size;
  using namespace std::chrono;
  const auto due =
      throttle_start_ +
      duration_cast<steady_clock::duration>(duration<double>(
          static_cast<double>(throttled_bytes_) / static_cast<double>(options_.max_bytes_per_sec)));
  while (steady_clock::now() < due) {
    if (options_.stop.stop_requested()) throw cancelled_error();
    std::this_thread::sleep_for(
        std::min<steady_clock::duration>(due - steady_clock::now(), milliseconds(20)));
  }
}

void PartialFile::write(const char* data, std::size_t size) {
  if (options_.stop.stop_requested()) throw cancelled_error();
  if (size > options_.max_size - std::min(size_, options_.max_size)) {
    throw permanent_error("the source sent more than the " + std::to_string(options_.max_size) +
                          " bytes listed (refused at byte " + std::to_string(size_) +
                          "): it changed during the sync, or it is not to be trusted");
  }
  std::size_t written = 0;
  while (written < size) {
    const ssize_t n = ::write(fd_.get(), data + written, size - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw permanent_error("cannot write " + partial_ + ": " + errno_text());
    }
    written += static_cast<std::size_t>(n);
  }
  sha256_.update(data, size);
  if (options_.md5) md5_.update(data, size);
  size_ += size;
  received_ += size;
  start_writeback();
  if (options_.on_bytes) options_.on_bytes(static_cast<std::int64_t>(size));
  throttle(size);
}

void PartialFile::start_writeback() {
  // Hand written data to the disk as it comes, in 8 MiB steps, and wait for the step before the
  // last one. Without this, gigabytes of dirty pages pile up until commit()'s fsync, and several
  // writers at once spend their time in the kernel's dirty-page throttling instead of copying.
  constexpr std::uint64_t kStep = 8 << 20;
  while (size_ >= flushed_ + kStep) {
    ::sync_file_range(fd_.get(), static_cast<off_t>(flushed_), kStep, SYNC_FILE_RANGE_WRITE);
    if (flushed_ >= kStep) {
      ::sync_file_range(
          fd_.get(), static_cast<off_t>(flushed_ - kStep), kStep,
          SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
    }
    flushed_ += kStep;
  }
}

void PartialFile::restart() {
  if (::ftruncate(fd_.get(), 0) != 0 || ::lseek(fd_.get(), 0, SEEK_SET) != 0) {
    throw permanent_error("cannot truncate " + partial_ + ": " + errno_text());
  }
  if (options_.on_bytes) options_.on_bytes(-static_cast<std::int64_t>(size_));
  sha256_.reset();
  md5_.reset();
  size_ = 0;
  flushed_ = 0;
}

struct stat PartialFile::commit() {
  if (::fsync(fd_.get()) != 0) throw permanent_error("fsync " + partial_ + ": " + errno_text());
  if (::renameat(dir_.get(), partial_.c_str(), dir_.get(), file_name_.c_str()) != 0) {
    throw permanent_error("cannot rename " + partial_ + " to " + file_name_ + ": " + errno_text());
  }
  done_ = true;
  if (::fsync(dir_.get()) != 0) throw permanent_error("fsync directory: " + errno_text());
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0)
    throw permanent_error("fstat " + file_name_ + ": " + errno_text());
  return st;
}

void PartialFile::keep() {
  ::fsync(fd_.get());
  done_ = true;
}

}  // namespace mh::sync
