#include "sync/synchronizer.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_set>
#include <vector>

#include "files/file_lock.hpp"
#include "files/hashing.hpp"
#include "files/safe_path.hpp"
#include "sync/partial_file.hpp"
#include "sync/sync_error.hpp"
#include "sync/sync_state.hpp"

namespace mh::sync {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::int64_t ns_of(const struct timespec& ts) {
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

std::string join_key(std::string_view dir, std::string_view name) {
  return dir.empty() ? std::string(name) : std::string(dir) + "/" + std::string(name);
}

std::string mb(std::uint64_t bytes) {
  return fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1e6);
}

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

class Run {
 public:
  Run(Source& source, const SyncJob& job, SyncProgress& progress, const std::stop_token& stop)
      : source_(source),
        job_(job),
        progress_(progress),
        forward_stop_(stop, [this] { stop_.request_stop(); }) {}

  SyncResult execute();

 private:
  std::vector<RemoteObject> list_with_retries();
  std::vector<RemoteObject> select_and_check_keys(std::vector<RemoteObject> objects);
  bool is_unchanged(const RemoteObject& object);
  std::map<std::string, std::string> prepare_partials(const std::vector<RemoteObject>& remote,
                                                      const std::vector<RemoteObject>& to_fetch);
  void transfer_all(const std::vector<RemoteObject>& to_fetch,
                    const std::map<std::string, std::string>& resumable);
  void fetch_one(const RemoteObject& object, const std::string& resume_partial);
  void keep_unstarted_partials(const std::vector<RemoteObject>& to_fetch,
                               const std::map<std::string, std::string>& resumable);
  void delete_vanished(const std::unordered_set<std::string>& remote_keys);
  void check_free_space(std::uint64_t needed) const;
  void check_no_overlap() const;
  void note_error(const SyncError& error);
  void save_state_locked(bool force);

  Source& source_;
  const SyncJob& job_;
  SyncProgress& progress_;
  std::stop_source stop_;  // ours: requested by the caller's token or by a failed transfer
  std::stop_callback<std::function<void()>> forward_stop_;

  std::optional<files::TargetDir> target_;
  SyncState state_;
  std::mutex state_mutex_;  // guards state_ while transfers run
  Clock::time_point last_save_{};

  std::mutex error_mutex_;
  std::optional<SyncError> error_;

  std::atomic<std::uint64_t> received_{0};
  std::atomic<std::size_t> transferred_{0};
  std::size_t deleted_ = 0;
};

SyncResult Run::execute() {
  const auto started = Clock::now();
  const std::string source_text = job_.source.to_string();
  SyncResult result;
  std::optional<files::DirLock> lock;
  std::string previous_fingerprint;
  spdlog::info("sync: {} -> {}", source_text, job_.target.string());
  try {
    check_no_overlap();
    target_.emplace(job_.target);
    progress_.set_phase(SyncPhase::waiting_for_lock);
    lock.emplace(files::DirLock::acquire(target_->fd(), stop_.get_token(), [&] {
      spdlog::info("sync: {} is being synced by another process; waiting", job_.target.string());
    }));
    state_ = load_state(target_->fd());
    previous_fingerprint = state_.fingerprint;
    if (!state_.source.empty() && state_.source != source_text) {
      spdlog::info("sync: {} was last synced from {}; now from {}", job_.target.string(),
                   state_.source, source_text);
    }

    progress_.set_phase(SyncPhase::listing);
    std::vector<RemoteObject> remote = select_and_check_keys(list_with_retries());

    progress_.set_phase(SyncPhase::checking);
    std::vector<RemoteObject> to_fetch;
    std::unordered_set<std::string> remote_keys;
    for (const RemoteObject& object : remote) {
      remote_keys.insert(object.key);
      result.bytes_total += object.size;
      if (is_unchanged(object)) {
        ++result.files_unchanged;
      } else {
        to_fetch.push_back(object);
      }
    }
    result.files_total = remote.size();
    const auto resumable = prepare_partials(remote, to_fetch);

    std::uint64_t bytes_to_fetch = 0;
    for (const RemoteObject& object : to_fetch) bytes_to_fetch += object.size;
    std::uint64_t resumed_bytes = 0;
    for (const auto& [key, partial] : resumable) {
      if (auto st = target_->stat_key(join_key(files::split_key(key).first, partial))) {
        resumed_bytes += static_cast<std::uint64_t>(st->st_size);
      }
    }
    check_free_space(bytes_to_fetch - std::min(bytes_to_fetch, resumed_bytes));

    progress_.begin_transfers(bytes_to_fetch, to_fetch.size());
    progress_.set_phase(SyncPhase::transferring);
    transfer_all(to_fetch, resumable);
    if (error_) {
      keep_unstarted_partials(to_fetch, resumable);
      throw *error_;
    }
    if (stop_.stop_requested()) throw cancelled_error();

    progress_.set_phase(SyncPhase::finishing);
    delete_vanished(remote_keys);
    state_.source = source_text;
    state_.fingerprint = content_fingerprint(state_.files);
    save_state(target_->fd(), state_);

    result.ok = true;
    result.fingerprint = state_.fingerprint;
    result.changed = state_.fingerprint != previous_fingerprint;
    progress_.set_phase(SyncPhase::done);
  } catch (const SyncError& e) {
    result.ok = false;
    result.cancelled = e.kind() == ErrorKind::cancelled;
    result.error = e.what();
  } catch (const std::exception& e) {
    result.ok = false;
    result.error = e.what();
  }
  if (!result.ok) {
    progress_.set_phase(SyncPhase::failed);
    if (lock) {
      // Keep what was completed (and the kept partials) for the next run. The fingerprint stays
      // that of the last successful sync, which the next one compares with.
      try {
        state_.source = source_text;
        save_state(target_->fd(), state_);
      } catch (const std::exception& e) {
        spdlog::warn("sync: {}", e.what());
      }
    }
  }
  result.bytes_transferred = received_.load();
  result.files_transferred = transferred_.load();
  result.files_deleted = deleted_;
  result.duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  const double seconds = std::max(0.001, static_cast<double>(result.duration.count()) / 1000.0);
  if (result.ok) {
    spdlog::info(
        "sync: {} done in {:.2f} s: {} files fetched ({}, {:.1f} MB/s), {} unchanged, {} deleted",
        job_.target.string(), seconds, result.files_transferred, mb(result.bytes_transferred),
        static_cast<double>(result.bytes_transferred) / 1e6 / seconds, result.files_unchanged,
        result.files_deleted);
  } else if (result.cancelled) {
    spdlog::info("sync: {} cancelled after {:.2f} s", job_.target.string(), seconds);
  } else {
    spdlog::error("sync: {} failed after {:.2f} s: {}", job_.target.string(), seconds,
                  result.error);
  }
  return result;
}

std::vector<RemoteObject> Run::list_with_retries() {
  const std::string what = "listing " + job_.source.to_string();
  for (int attempt = 1;; ++attempt) {
    try {
      return source_.list(stop_.get_token());
    } catch (const SyncError& e) {
      if (e.kind() != ErrorKind::transient) throw;
      if (attempt >= job_.retry.max_attempts) {
        throw transient_error(std::string(e.what()) + " (gave up after " + std::to_string(attempt) +
                              " attempts)");
      }
      const auto delay = backoff_delay(job_.retry, attempt);
      spdlog::warn("sync: {}: {} (attempt {}/{}; retrying in {} ms)", what, e.what(), attempt,
                   job_.retry.max_attempts, delay.count());
      if (!sleep_unless_stopped(delay, stop_.get_token())) throw cancelled_error();
    }
  }
}

std::vector<RemoteObject> Run::select_and_check_keys(std::vector<RemoteObject> objects) {
  // An explicit `files` list narrows a listing source to those files (HTTP lists only them).
  if (!job_.source.files.empty() && job_.source.kind != SourceUri::Kind::http) {
    std::map<std::string, RemoteObject> by_key;
    for (RemoteObject& object : objects) by_key.emplace(object.key, std::move(object));
    std::vector<RemoteObject> selected;
    for (const std::string& key : job_.source.files) {
      auto it = by_key.find(key);
      if (it == by_key.end()) {
        throw permanent_error("\"" + key + "\" (from \"files\") is not in " +
                              job_.source.to_string());
      }
      selected.push_back(it->second);
    }
    objects = std::move(selected);
  }
  // Refuse the whole listing if any key is unsafe: a store that hands out "../x" is not to be
  // trusted with the rest either, and nothing has been written yet.
  std::set<std::string> keys;
  for (const RemoteObject& object : objects) {
    if (std::string why = files::validate_key(object.key); !why.empty()) {
      throw permanent_error("refusing object key from " + job_.source.to_string() + ": " + why +
                            "; nothing was written");
    }
    if (!keys.insert(object.key).second) {
      throw permanent_error("the source lists \"" + object.key + "\" twice");
    }
  }
  for (const std::string& key : keys) {
    for (std::size_t slash = key.find('/'); slash != std::string::npos;
         slash = key.find('/', slash + 1)) {
      if (keys.contains(key.substr(0, slash))) {
        throw permanent_error("the source has both a file \"" + key.substr(0, slash) +
                              "\" and a file \"" + key + "\" below it");
      }
    }
  }
  return objects;
}

bool Run::is_unchanged(const RemoteObject& object) {
  const auto st = target_->stat_key(object.key);
  if (!st || !S_ISREG(st->st_mode)) return false;
  const auto record = state_.files.find(object.key);
  const bool recorded = record != state_.files.end() && record->second.version == object.version &&
                        record->second.size == object.size;
  const bool verifiable = !object.md5.empty() || !object.sha256.empty();
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
  return true;
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
      const bool keep = std::any_of(resumable.begin(), resumable.end(), [&](const auto& r) {
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

void Run::check_free_space(std::uint64_t needed) const {
  struct statvfs vfs {};
  if (needed == 0 || ::fstatvfs(target_->fd(), &vfs) != 0) return;
  const std::uint64_t available = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  if (available < needed) {
    throw permanent_error("not enough space in " + job_.target.string() + ": the sync needs " +
                          mb(needed) + ", " + mb(available) + " are free");
  }
}

void Run::check_no_overlap() const {
  // A local source that contains the target (or is inside it) would list the copies as new
  // source files, and every sync would copy the tree into itself once more.
  if (job_.source.kind != SourceUri::Kind::local) return;
  std::error_code ec;
  const fs::path source = fs::weakly_canonical(job_.source.path, ec);
  const fs::path target = fs::weakly_canonical(job_.target, ec);
  if (ec) return;
  auto within = [](const fs::path& inner, const fs::path& outer) {
    const auto [end, _] = std::mismatch(outer.begin(), outer.end(), inner.begin(), inner.end());
    return end == outer.end();
  };
  if (within(target, source) || within(source, target)) {
    throw permanent_error("the target directory " + job_.target.string() +
                          " and the source directory " + job_.source.path.string() +
                          " overlap; sync into a directory outside the source");
  }
}

void Run::note_error(const SyncError& error) {
  std::lock_guard lock(error_mutex_);
  // The first real failure wins; the cancellations it causes in other workers do not replace it.
  if (!error_ || (error_->kind() == ErrorKind::cancelled && error.kind() != ErrorKind::cancelled)) {
    error_ = error;
  }
}

void Run::save_state_locked(bool force) {
  const auto now = Clock::now();
  if (!force && now - last_save_ < std::chrono::seconds(1)) return;
  last_save_ = now;
  save_state(target_->fd(), state_);
}

void Run::transfer_all(const std::vector<RemoteObject>& to_fetch,
                       const std::map<std::string, std::string>& resumable) {
  if (to_fetch.empty()) return;
  // Largest first, so the long transfers start at once and the small ones fill in around them.
  std::vector<const RemoteObject*> order;
  for (const RemoteObject& object : to_fetch) order.push_back(&object);
  std::stable_sort(order.begin(), order.end(),
                   [](const RemoteObject* a, const RemoteObject* b) { return a->size > b->size; });
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (;;) {
      if (stop_.stop_requested()) return;
      const std::size_t i = next.fetch_add(1);
      if (i >= order.size()) return;
      const RemoteObject& object = *order[i];
      auto partial = resumable.find(object.key);
      try {
        fetch_one(object, partial == resumable.end() ? std::string() : partial->second);
      } catch (const SyncError& e) {
        note_error(e);
        stop_.request_stop();
      } catch (const std::exception& e) {
        note_error(permanent_error("\"" + object.key + "\": " + e.what()));
        stop_.request_stop();
      }
    }
  };
  const std::size_t threads =
      std::min<std::size_t>(order.size(), static_cast<std::size_t>(std::max(1, job_.parallel)));
  std::vector<std::jthread> pool;
  for (std::size_t i = 1; i < threads; ++i) pool.emplace_back(worker);
  worker();
  pool.clear();  // joins
}

void Run::fetch_one(const RemoteObject& object, const std::string& resume_partial) {
  const auto [dir, name] = files::split_key(object.key);
  const std::stop_token stop = stop_.get_token();
  files::UniqueFd dir_fd = target_->open_dir(dir, true);
  PartialFileOptions options;
  options.on_bytes = [this](std::int64_t delta) { progress_.add_bytes(delta); };
  options.max_bytes_per_sec = job_.max_bytes_per_sec;
  options.stop = stop;
  options.md5 = !object.md5.empty();

  std::optional<PartialFile> file;
  if (!resume_partial.empty()) {
    try {
      file.emplace(PartialFile::resume(files::UniqueFd(::dup(dir_fd.get())), std::string(name),
                                       resume_partial, options));
      progress_.add_bytes(static_cast<std::int64_t>(file->offset()));
      spdlog::info("sync: resuming \"{}\" at byte {}", object.key, file->offset());
    } catch (const SyncError& e) {
      if (e.kind() == ErrorKind::cancelled) throw;
      spdlog::warn("sync: cannot resume \"{}\" ({}); starting over", object.key, e.what());
      ::unlinkat(dir_fd.get(), resume_partial.c_str(), 0);
    }
  }
  if (!file)
    file.emplace(
        PartialFile::create(files::UniqueFd(::dup(dir_fd.get())), std::string(name), options));

  progress_.file_started(object.key);
  const std::string quoted = "\"" + object.key + "\"";
  try {
    for (int attempt = 1;; ++attempt) {
      try {
        if (file->offset() < object.size) source_.fetch(object, *file, stop);
        if (file->offset() > object.size) {
          file->restart();
          throw permanent_error("got more bytes than the " + std::to_string(object.size) +
                                " listed: it changed during the sync; sync again");
        }
        if (file->offset() < object.size) {
          throw transient_error("short transfer: " + std::to_string(file->offset()) + " of " +
                                std::to_string(object.size) + " bytes");
        }
        if (!object.md5.empty() && file->md5() != object.md5) {
          const std::string got = file->md5();
          file->restart();
          throw transient_error("MD5 mismatch: got " + got + ", the source says " + object.md5);
        }
        if (!object.sha256.empty() && file->sha256() != object.sha256) {
          const std::string got = file->sha256();
          file->restart();
          throw transient_error("SHA-256 mismatch: got " + got + ", the source says " +
                                object.sha256);
        }
        break;
      } catch (const SyncError& e) {
        if (e.kind() == ErrorKind::cancelled) throw;
        if (e.kind() == ErrorKind::permanent) {
          throw permanent_error("fetching " + quoted + " failed: " + e.what());
        }
        if (attempt >= job_.retry.max_attempts) {
          throw transient_error("fetching " + quoted + " failed after " + std::to_string(attempt) +
                                " attempts: " + e.what());
        }
        const auto delay = backoff_delay(job_.retry, attempt);
        spdlog::warn("sync: {}: {} (attempt {}/{}; retrying in {} ms{})", quoted, e.what(), attempt,
                     job_.retry.max_attempts, delay.count(),
                     file->offset() > 0 ? fmt::format(", resuming at byte {}", file->offset())
                                        : std::string());
        if (!sleep_unless_stopped(delay, stop)) throw cancelled_error();
      }
    }
    const struct stat st = file->commit();
    received_ += file->bytes_received();
    ++transferred_;
    {
      std::lock_guard lock(state_mutex_);
      state_.files[object.key] = FileRecord{object.size, object.version, file->sha256(),
                                            ns_of(st.st_mtim), ns_of(st.st_ctim)};
      save_state_locked(false);
    }
    progress_.file_ended(object.key, true);
    spdlog::debug("sync: fetched \"{}\" ({} bytes)", object.key, object.size);
  } catch (const SyncError& e) {
    received_ += file->bytes_received();
    progress_.file_ended(object.key, false);
    if (e.kind() != ErrorKind::permanent && file->offset() > 0 && file->offset() < object.size) {
      // Keep it for the next sync, which resumes it if the object is still the same.
      file->keep();
      std::lock_guard lock(state_mutex_);
      state_.partials[object.key] =
          PartialRecord{join_key(dir, file->partial_name()), object.version, object.size};
    }
    throw;
  }
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

}  // namespace

SyncResult sync_from(Source& source, const SyncJob& job, SyncProgress& progress,
                     const std::stop_token& stop) {
  Run run(source, job, progress, stop);
  return run.execute();
}

SyncResult sync(const SyncJob& job, SyncProgress& progress, const std::stop_token& stop) {
  std::unique_ptr<Source> source;
  try {
    source = make_source(job.source, job.source_settings);
  } catch (const std::exception& e) {
    SyncResult result;
    result.error = e.what();
    progress.set_phase(SyncPhase::failed);
    return result;
  }
  return sync_from(*source, job, progress, stop);
}

}  // namespace mh::sync
