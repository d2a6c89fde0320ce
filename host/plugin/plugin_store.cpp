#include "plugin/plugin_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "files/hashing.hpp"
#include "files/unique_fd.hpp"

namespace mh::host {

namespace fs = std::filesystem;

namespace {

constexpr mode_t kPrivateMode = 0700;

std::string errno_text() {
  return std::strerror(errno);
}

// Whether `path` is a regular file (not a link) whose content hashes to `sha256`.
bool holds_content(const fs::path& path, const std::string& sha256) {
  files::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  try {
    return files::digest_fd(fd.get(), false).sha256 == sha256;
  } catch (const std::exception&) {
    return false;  // unreadable: replace it
  }
}

}  // namespace

PluginStore::PluginStore(fs::path dir) : dir_(std::move(dir)) {
  std::error_code error;
  fs::create_directories(dir_, error);
  if (error)
    throw std::runtime_error(dir_.string() +
                             ": cannot create the plugin store: " + error.message());
  if (::chmod(dir_.c_str(), kPrivateMode) != 0) {
    throw std::runtime_error(dir_.string() +
                             ": cannot make the plugin store private (mode 0700): " + errno_text());
  }
}

StoredPlugin PluginStore::store(const fs::path& source) const {
  static std::atomic<unsigned> counter{0};
  files::UniqueFd in(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0)
    throw std::runtime_error(source.string() + ": cannot read the plugin: " + errno_text());
  const fs::path temporary =
      dir_ / (".incoming-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".so");
  // Not O_EXCL: a hostd that runs as the same pid after a crash (pid 1 in a container) must be
  // able to reuse a temporary name its predecessor left.
  files::UniqueFd out(::open(temporary.c_str(),
                             O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, kPrivateMode));
  if (out.get() < 0 || ::fchmod(out.get(), kPrivateMode) != 0) {
    throw std::runtime_error(temporary.string() + ": cannot write a plugin copy: " + errno_text());
  }
  auto fail = [&](const std::string& what) {
    ::unlink(temporary.c_str());
    throw std::runtime_error(what);
  };
  files::Hasher hash(files::HashAlgorithm::sha256);
  std::vector<char> buffer(1 << 16);
  for (;;) {
    ssize_t got = ::read(in.get(), buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) fail(source.string() + ": read error: " + errno_text());
    if (got == 0) break;
    hash.update(buffer.data(), static_cast<std::size_t>(got));
    for (ssize_t written = 0; written < got;) {
      ssize_t n =
          ::write(out.get(), buffer.data() + written, static_cast<std::size_t>(got - written));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail(temporary.string() + ": write error: " + errno_text());
      written += n;
    }
  }
  if (::fsync(out.get()) != 0) fail(temporary.string() + ": fsync: " + errno_text());
  out.reset();
  StoredPlugin stored;
  stored.sha256 = hash.hex_digest();
  stored.path = dir_ / (stored.sha256 + ".so");
  if (holds_content(stored.path, stored.sha256)) {
    ::unlink(temporary.c_str());  // the same content is there already, verified
  } else if (::rename(temporary.c_str(), stored.path.c_str()) != 0) {
    // Over whatever held the name (a corrupt copy, a link): rename replaces it atomically.
    fail(stored.path.string() + ": cannot rename the plugin copy into place: " + errno_text());
  }
  return stored;
}

std::size_t PluginStore::remove_unused(const std::set<fs::path>& live) const {
  std::error_code error;
  fs::directory_iterator it(dir_, error);
  if (error) throw std::runtime_error(dir_.string() + ": cannot list: " + error.message());
  std::size_t removed = 0;
  for (; it != fs::directory_iterator(); it.increment(error)) {
    if (error) throw std::runtime_error(dir_.string() + ": cannot list: " + error.message());
    const fs::path& path = it->path();
    const std::string name = path.filename().string();
    // <64 hex digits>.so: a copy; anything else (.incoming-*, the operator's own files) stays.
    if (name.size() != 64 + 3 || path.extension() != ".so" || live.count(path) > 0) continue;
    if (::unlink(path.c_str()) == 0) ++removed;
  }
  return removed;
}

}  // namespace mh::host
