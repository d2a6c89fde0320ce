#include "sync/sources/source_local.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "files/safe_path.hpp"
#include "files/unique_fd.hpp"
#include "sync/sync_error.hpp"

namespace mh::sync {

namespace fs = std::filesystem;

namespace {

std::string mtime_version(const struct stat& st) {
  return "mtime:" + std::to_string(static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL +
                                   st.st_mtim.tv_nsec);
}

bool is_sync_artifact(const std::string& name) {
  return name.starts_with(files::kReservedPrefix) ||
         (name.starts_with('.') && name.find(files::kPartialMarker) != std::string::npos);
}

// `path` (absolute, lexically normal, no symlinks) is `root` or below it.
bool is_within(const fs::path& path, const fs::path& root) {
  const auto [end, _] = std::mismatch(root.begin(), root.end(), path.begin(), path.end());
  return end == root.end();
}

fs::path canonical_root(const fs::path& root) {
  std::error_code ec;
  fs::path canonical = fs::canonical(root, ec);
  if (ec || !fs::is_directory(canonical, ec)) {
    throw permanent_error("source directory " + root.string() + " does not exist or is not a " +
                          "directory");
  }
  return canonical;
}

[[noreturn]] void refuse_outside(const std::string& key, const fs::path& root) {
  throw permanent_error("\"" + key + "\": a symbolic link to a file outside the source directory " +
                        root.string() + "; refused (links that stay inside it are followed)");
}

// Whether the file open on `fd` (opened through `path`) lies inside `root` (canonical). The
// kernel's name for the descriptor says where the opened file really is, whatever links were
// swapped meanwhile; without /proc, the file at the canonical path must be the very one open.
bool fd_is_within(int fd, const fs::path& path, const fs::path& root) {
  std::error_code ec;
  const fs::path actual = fs::read_symlink("/proc/self/fd/" + std::to_string(fd), ec);
  if (!ec && actual.is_absolute()) return is_within(actual.lexically_normal(), root);
  const fs::path resolved = fs::canonical(path, ec);
  if (ec || !is_within(resolved, root)) return false;
  struct stat opened {};
  struct stat named {};
  return ::fstat(fd, &opened) == 0 && ::stat(resolved.c_str(), &named) == 0 &&
         opened.st_dev == named.st_dev && opened.st_ino == named.st_ino;
}

}  // namespace

LocalSource::LocalSource(fs::path root, ListingLimits limits)
    : root_(std::move(root)), limits_(limits) {}

std::vector<RemoteObject> LocalSource::list(const std::stop_token& stop) {
  std::error_code ec;
  const fs::path root = canonical_root(root_);
  std::vector<RemoteObject> objects;
  fs::recursive_directory_iterator it(root_, fs::directory_options::none, ec), end;
  if (ec) throw permanent_error("cannot read " + root_.string() + ": " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) throw permanent_error("cannot read " + root_.string() + ": " + ec.message());
    if (stop.stop_requested()) throw cancelled_error();
    const fs::path& path = it->path();
    const std::string name = path.filename().string();
    if (is_sync_artifact(name)) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    struct stat lst {};
    if (::lstat(path.c_str(), &lst) != 0) continue;  // vanished while listing
    if (S_ISDIR(lst.st_mode)) continue;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      spdlog::warn("sync: skipping {} (broken symlink)", path.string());
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      spdlog::warn("sync: skipping {} (symlink to a directory)", path.string());
      continue;
    }
    if (!S_ISREG(st.st_mode)) continue;
    RemoteObject object;
    object.key = path.lexically_relative(root_).generic_string();
    if (S_ISLNK(lst.st_mode)) {
      const fs::path target = fs::canonical(path, ec);
      if (ec || !is_within(target, root)) refuse_outside(object.key, root_);
    }
    if (objects.size() >= limits_.max_objects) {
      throw permanent_error("source directory " + root_.string() + " holds more than " +
                            std::to_string(limits_.max_objects) +
                            " files (the listing limit); sync a directory further down");
    }
    object.size = static_cast<std::uint64_t>(st.st_size);
    object.version = mtime_version(st);
    objects.push_back(std::move(object));
  }
  return objects;
}

void LocalSource::fetch(const RemoteObject& object, ByteSink& sink, const std::stop_token& stop) {
  const fs::path path = root_ / object.key;
  // O_NONBLOCK: a FIFO swapped in after the listing must not hang the open; it fails S_ISREG.
  files::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd) {
    const std::string why = std::strerror(errno);
    if (errno == ENOENT) throw permanent_error(path.string() + ": vanished since listing");
    throw permanent_error("cannot open " + path.string() + ": " + why);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    throw permanent_error(path.string() + ": no longer a regular file; sync again");
  }
  if (!fd_is_within(fd.get(), path, canonical_root(root_))) refuse_outside(object.key, root_);
  if (mtime_version(st) != object.version ||
      static_cast<std::uint64_t>(st.st_size) != object.size) {
    throw permanent_error(path.string() + ": changed since listing; sync again");
  }
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  std::vector<char> buffer(1 << 20);
  auto offset = static_cast<off_t>(sink.offset());
  for (;;) {
    if (stop.stop_requested()) throw cancelled_error();
    const ssize_t n = ::pread(fd.get(), buffer.data(), buffer.size(), offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw transient_error("read " + path.string() + ": " + std::strerror(errno));
    }
    if (n == 0) break;
    sink.write(buffer.data(), static_cast<std::size_t>(n));
    offset += n;
  }
}

}  // namespace mh::sync
