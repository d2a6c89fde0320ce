#include "sync/sync_state.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>

#include "files/hashing.hpp"
#include "files/safe_path.hpp"
#include "files/unique_fd.hpp"
#include "sync/sync_error.hpp"

namespace mh::sync {

namespace json = boost::json;

namespace {

constexpr std::int64_t kFormatVersion = 1;

std::optional<std::string> read_file_at(int dir_fd, const std::string& name) {
  files::UniqueFd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return std::nullopt;
    throw std::runtime_error(std::strerror(errno));
  }
  std::string text;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::strerror(errno));
    }
    if (n == 0) break;
    if (text.size() + static_cast<std::size_t>(n) > kMaxStateFileBytes) {
      throw std::runtime_error("larger than " + std::to_string(kMaxStateFileBytes >> 20) + " MiB");
    }
    text.append(buffer, static_cast<std::size_t>(n));
  }
  return text;
}

// Why a partial record read back from the file must not be used ("" when it may): its key must be
// a valid one, and its file a partial of that key in the key's own directory.
std::string invalid_partial_record(std::string_view key, const PartialRecord& record) {
  if (std::string why = files::validate_key(key); !why.empty()) return why;
  const auto [dir, name] = files::split_key(key);
  const auto [partial_dir, partial] = files::split_key(record.file);
  if (partial_dir != dir || !files::is_partial_of(partial, name)) {
    return "\"" + record.file + "\" is not a partial download of \"" + std::string(key) + "\"";
  }
  return {};
}

const json::value& field(const json::object& object, std::string_view name) {
  const json::value* value = object.if_contains(name);
  if (value == nullptr) throw std::runtime_error("missing \"" + std::string(name) + "\"");
  return *value;
}

std::string string_field(const json::object& object, std::string_view name) {
  return json::value_to<std::string>(field(object, name));
}

}  // namespace

std::string content_fingerprint(const std::map<std::string, FileRecord>& files) {
  files::Hasher hasher(files::HashAlgorithm::sha256);
  for (const auto& [key, record] : files) {
    const std::string line = key + '\0' + std::to_string(record.size) + '\0' + record.sha256 + '\n';
    hasher.update(line.data(), line.size());
  }
  return hasher.hex_digest();
}

std::string state_to_json(const SyncState& state) {
  json::object files;
  for (const auto& [key, r] : state.files) {
    files[key] = json::object{{"size", r.size},
                              {"version", r.version},
                              {"sha256", r.sha256},
                              {"mtime_ns", r.mtime_ns},
                              {"ctime_ns", r.ctime_ns}};
  }
  json::object partials;
  for (const auto& [key, p] : state.partials) {
    partials[key] = json::object{{"file", p.file}, {"version", p.version}, {"size", p.size}};
  }
  json::object root{{"format", kFormatVersion},
                    {"source", state.source},
                    {"fingerprint", state.fingerprint},
                    {"files", std::move(files)},
                    {"partials", std::move(partials)}};
  return json::serialize(root) + "\n";
}

SyncState state_from_json(std::string_view text) {
  try {
    const json::value parsed = json::parse(text);
    const json::object& root = parsed.as_object();
    if (json::value_to<std::int64_t>(field(root, "format")) != kFormatVersion) {
      throw std::runtime_error("unknown \"format\"");
    }
    SyncState state;
    state.source = string_field(root, "source");
    state.fingerprint = string_field(root, "fingerprint");
    for (const auto& [key, value] : field(root, "files").as_object()) {
      const json::object& o = value.as_object();
      FileRecord r;
      r.size = json::value_to<std::uint64_t>(field(o, "size"));
      r.version = string_field(o, "version");
      r.sha256 = string_field(o, "sha256");
      r.mtime_ns = json::value_to<std::int64_t>(field(o, "mtime_ns"));
      r.ctime_ns = json::value_to<std::int64_t>(field(o, "ctime_ns"));
      if (std::string why = files::validate_key(key); !why.empty()) {
        spdlog::warn("sync: {}: dropping the record of a file: {}", files::kStateFileName, why);
        continue;
      }
      state.files.emplace(std::string(key), std::move(r));
    }
    if (const json::value* partials = root.if_contains("partials")) {
      for (const auto& [key, value] : partials->as_object()) {
        const json::object& o = value.as_object();
        PartialRecord p;
        p.file = string_field(o, "file");
        p.version = string_field(o, "version");
        p.size = json::value_to<std::uint64_t>(field(o, "size"));
        if (std::string why = invalid_partial_record(key, p); !why.empty()) {
          spdlog::warn("sync: {}: dropping the record of a partial download: {}",
                       files::kStateFileName, why);
          continue;
        }
        state.partials.emplace(std::string(key), std::move(p));
      }
    }
    return state;
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("sync state: ") + e.what());
  }
}

SyncState load_state(int dir_fd) {
  const std::string name(files::kStateFileName);
  try {
    auto text = read_file_at(dir_fd, name);
    if (!text) return {};
    return state_from_json(*text);
  } catch (const std::exception& e) {
    spdlog::warn("sync: ignoring unreadable {} ({}); every local file will be verified", name,
                 e.what());
    return {};
  }
}

void save_state(int dir_fd, const SyncState& state, mode_t mode) {
  const std::string name(files::kStateFileName);
  const std::string temp = name + ".tmp-" + std::to_string(::getpid());
  const std::string text = state_to_json(state);
  files::UniqueFd fd(
      ::openat(dir_fd, temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!fd) throw permanent_error("cannot write " + temp + ": " + std::strerror(errno));
  ::fchmod(fd.get(), mode);  // exactly, whatever the umask (and a leftover temporary's mode)
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string why = std::strerror(errno);
      ::unlinkat(dir_fd, temp.c_str(), 0);
      throw permanent_error("cannot write " + temp + ": " + why);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0 || ::renameat(dir_fd, temp.c_str(), dir_fd, name.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlinkat(dir_fd, temp.c_str(), 0);
    throw permanent_error("cannot replace " + name + ": " + why);
  }
  ::fsync(dir_fd);
}

std::optional<SyncState> read_sync_state(const std::filesystem::path& target) {
  files::UniqueFd dir(::open(target.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return std::nullopt;
  auto text = read_file_at(dir.get(), std::string(files::kStateFileName));
  if (!text) return std::nullopt;
  return state_from_json(*text);
}

}  // namespace mh::sync
