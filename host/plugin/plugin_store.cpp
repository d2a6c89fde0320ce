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

std::string errno_text() {
  return std::strerror(errno);
}

}  // namespace

PluginStore::PluginStore(fs::path dir) : dir_(std::move(dir)) {
  std::error_code error;
  fs::create_directories(dir_, error);
  if (error)
    throw std::runtime_error(dir_.string() +
                             ": cannot create the plugin store: " + error.message());
}

StoredPlugin PluginStore::store(const fs::path& source) const {
  static std::atomic<unsigned> counter{0};
  files::UniqueFd in(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0)
    throw std::runtime_error(source.string() + ": cannot read the plugin: " + errno_text());
  const fs::path temporary =
      dir_ / (".incoming-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".so");
  files::UniqueFd out(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755));
  if (out.get() < 0) {
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
  std::error_code error;
  if (fs::exists(stored.path, error)) {
    ::unlink(temporary.c_str());  // the same content is there already
  } else if (::rename(temporary.c_str(), stored.path.c_str()) != 0) {
    fail(stored.path.string() + ": cannot rename the plugin copy into place: " + errno_text());
  }
  return stored;
}

}  // namespace mh::host
