// What the target directory holds already, as one sync run sees it: local copies that still match
// their source object (and are made private if an older version left them open), kept partial
// downloads to resume and stray ones to remove, and files that vanished from the source to delete.
// Every path comes from a validated key and is walked with TargetDir (no symlink is followed).
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <set>

#include "files/hashing.hpp"
#include "sync_run.hpp"

namespace mh::sync::detail {

namespace {

// "." + name + ".partial-" + 12 hex digits -> the prefix files::partial_name(name, "") gives; else
// "".
std::string partial_prefix_of(std::string_view entry) {
  constexpr std::size_t tag = 12;
  if (entry.size() <= tag + files::kPartialMarker.size() + 1 || entry.front() != '.') return {};
  const std::string_view prefix = entry.substr(0, entry.size() - tag);
  if (!prefix.ends_with(files::kPartialMarker)) return {};
  for (const char c : entry.substr(entry.size() - tag)) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return {};
  }
  return std::string(prefix);
}

}  // namespace

bool Run::is_unchanged(const RemoteObject& object) {
  const auto st = target_->stat_key(object.key);
  if (!st || !S_ISREG(st->st_mode)) return false;
  const auto record = state_.files.find(object.key);
  const bool recorded = record != state_.files.end() && record->second.version == object.version &&
                        record->second.size == object.size;
  const bool verifiable = !object.md5.empty() || !object.sha256.empty();
  if (recorded && !object.sha256.empty() && record->second.sha256 != object.sha256) {
    spdlog::info("sync: local copy of \"{}\" does not have the pinned SHA-256; fetching it again",
                 object.key);
    return false;
  }
  const auto size = static_cast<std::uint64_t>(st->st_size);
  if (size != object.size) {
    if (recorded) {
      spdlog::info("sync: local copy of \"{}\" has {} bytes, not {}; fetching it again", object.key,
                   size, object.size);
    }
    return false;
  }
  if (!recorded && !verifiable) return false;
  if (recorded && !job_.verify_all && ns_of(st->st_mtim) == record->second.mtime_ns &&
      ns_of(st->st_ctim) == record->second.ctime_ns) {
    make_private(object.key);
    return true;
  }
  // Changed since we wrote it, or not ours yet: look at the content.
  const auto [dir, name] = files::split_key(object.key);
  files::UniqueFd dir_fd = target_->open_dir(dir, false);
  if (!dir_fd) return false;
  files::UniqueFd fd(
      ::openat(dir_fd.get(), std::string(name).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return false;
  const files::FileDigests digests =
      files::digest_fd(fd.get(), !object.md5.empty(), stop_.get_token());
  bool same = false;
  if (recorded) {
    same = digests.sha256 == record->second.sha256;
  } else {
    same = (object.md5.empty() || digests.md5 == object.md5) &&
           (object.sha256.empty() || digests.sha256 == object.sha256);
  }
  if (!same) {
    if (recorded) {
      spdlog::info("sync: local copy of \"{}\" was modified (SHA-256 differs); fetching it again",
                   object.key);
    }
    return false;
  }
  // Same content: (re)record the file as it is now.
  state_.files[object.key] = FileRecord{object.size, object.version, digests.sha256,
                                        ns_of(st->st_mtim), ns_of(st->st_ctim)};
  make_private(object.key);
  return true;
}

void Run::make_private(const std::string& key) {
  // A copy an older version synced world-readable gets the job's mode now; its record follows
  // the new ctime, so the next sync still trusts the copy's stat instead of re-hashing it.
  const auto [dir, name] = files::split_key(key);
  files::UniqueFd dir_fd = target_->open_dir(dir, false);
  if (!dir_fd) return;
  files::UniqueFd fd(::openat(dir_fd.get(), std::string(name).c_str(),
                              O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
      (st.st_mode & 07777) == job_.file_mode) {
    return;
  }
  if (::fchmod(fd.get(), job_.file_mode) != 0 || ::fstat(fd.get(), &st) != 0) {
    spdlog::warn("sync: cannot set the mode of \"{}\" to {:o}: {}", key, job_.file_mode,
                 std::strerror(errno));
    return;
  }
  if (auto record = state_.files.find(key); record != state_.files.end()) {
    record->second.ctime_ns = ns_of(st.st_ctim);
  }
}

std::map<std::string, std::string> Run::prepare_partials(
    const std::vector<RemoteObject>& remote, const std::vector<RemoteObject>& to_fetch) {
  // Which kept partials can be resumed: same object version, still there.
  std::map<std::string, std::string> resumable;  // key -> partial file name (in the key's dir)
  for (const RemoteObject& object : to_fetch) {
    auto it = state_.partials.find(object.key);
    if (it == state_.partials.end()) continue;
    const PartialRecord& record = it->second;
    const auto [dir, name] = files::split_key(object.key);
    const auto [partial_dir, partial] = files::split_key(record.file);
    if (record.version != object.version || record.size != object.size || partial_dir != dir ||
        !files::is_partial_of(partial, name)) {
      continue;
    }
    if (auto st = target_->stat_key(record.file);
        st && S_ISREG(st->st_mode) && static_cast<std::uint64_t>(st->st_size) <= object.size) {
      resumable.emplace(object.key, std::string(partial));
    }
  }
  state_.partials.clear();

  // Remove every other partial of a file we manage: leftovers of crashed or superseded runs.
  std::map<std::string, std::set<std::string>> prefixes_by_dir;
  auto manage = [&](std::string_view key) {
    const auto [dir, name] = files::split_key(key);
    prefixes_by_dir[std::string(dir)].insert(files::partial_name(name, ""));
  };
  for (const RemoteObject& object : remote) manage(object.key);
  for (const auto& [key, record] : state_.files) manage(key);
  for (const auto& [dir, prefixes] : prefixes_by_dir) {
    files::UniqueFd dir_fd;
    try {
      dir_fd = target_->open_dir(dir, false);
    } catch (const SyncError&) {
      continue;
    }
    if (!dir_fd) continue;
    DIR* listing = ::fdopendir(::dup(dir_fd.get()));
    if (listing == nullptr) continue;
    std::vector<std::string> stale;
    while (const dirent* entry = ::readdir(listing)) {
      const std::string prefix = partial_prefix_of(entry->d_name);
      if (prefix.empty() || !prefixes.contains(prefix)) continue;
      const std::string name = entry->d_name;
      // An init-capture: clang 14 (the fuzz build) cannot capture a structured binding.
      const bool keep =
          std::any_of(resumable.begin(), resumable.end(), [&, &dir = dir](const auto& r) {
            return files::split_key(r.first).first == dir && r.second == name;
          });
      if (!keep) stale.push_back(name);
    }
    ::closedir(listing);
    for (const std::string& name : stale) {
      spdlog::info("sync: removing stale partial download {}", join_key(dir, name));
      ::unlinkat(dir_fd.get(), name.c_str(), 0);
    }
  }
  return resumable;
}

void Run::keep_unstarted_partials(const std::vector<RemoteObject>& to_fetch,
                                  const std::map<std::string, std::string>& resumable) {
  // A failure stopped the sync before it reached these resumable partials: keep their records,
  // or the next run would take them for strays.
  for (const RemoteObject& object : to_fetch) {
    auto partial = resumable.find(object.key);
    if (partial == resumable.end() || state_.partials.contains(object.key)) continue;
    const std::string path = join_key(files::split_key(object.key).first, partial->second);
    if (target_->stat_key(path)) {
      state_.partials[object.key] = PartialRecord{path, object.version, object.size};
    }
  }
}

void Run::delete_vanished(const std::unordered_set<std::string>& remote_keys) {
  for (auto it = state_.files.begin(); it != state_.files.end();) {
    if (remote_keys.contains(it->first)) {
      ++it;
      continue;
    }
    const std::string key = it->first;
    const auto [dir, name] = files::split_key(key);
    files::UniqueFd dir_fd;
    try {
      dir_fd = target_->open_dir(dir, false);
    } catch (const SyncError&) {
    }
    if (dir_fd && ::unlinkat(dir_fd.get(), std::string(name).c_str(), 0) == 0) {
      spdlog::info("sync: removed \"{}\" (no longer in the source)", key);
      ++deleted_;
      // Remove directories this leaves empty, up to the target (never the target itself).
      std::string_view parent = dir;
      while (!parent.empty()) {
        const auto [up, last] = files::split_key(parent);
        files::UniqueFd up_fd = target_->open_dir(up, false);
        if (!up_fd || ::unlinkat(up_fd.get(), std::string(last).c_str(), AT_REMOVEDIR) != 0) break;
        parent = up;
      }
    } else if (dir_fd && errno != ENOENT) {
      spdlog::warn("sync: cannot remove \"{}\": {}", key, std::strerror(errno));
      ++it;
      continue;
    }
    it = state_.files.erase(it);
  }
}

}  // namespace mh::sync::detail
