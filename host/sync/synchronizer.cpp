#include "sync/synchronizer.hpp"

#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <unordered_set>
#include <vector>

#include "files/file_lock.hpp"
#include "files/safe_path.hpp"
#include "sync/sync_error.hpp"
#include "sync/sync_state.hpp"
#include "sync_run.hpp"

namespace mh::sync {

namespace detail {

namespace fs = std::filesystem;

SyncResult Run::execute() {
  const auto started = Clock::now();
  const std::string source_text = job_.source.to_string();
  SyncResult result;
  std::optional<files::DirLock> lock;
  std::string previous_fingerprint;
  spdlog::info("sync: {} -> {}", source_text, job_.target.string());
  try {
    check_no_overlap();
    target_.emplace(job_.target, job_.dir_mode);
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
    save_state(target_->fd(), state_, job_.file_mode);

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
        save_state(target_->fd(), state_, job_.file_mode);
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
    for (const SourceFile& file : job_.source.files) {
      auto it = by_key.find(file.key);
      if (it == by_key.end()) {
        throw permanent_error("\"" + file.key + "\" (from \"files\") is not in " +
                              job_.source.to_string());
      }
      selected.push_back(it->second);
    }
    objects = std::move(selected);
  }
  // A `files` entry's sha256 is what its content must hash to, whatever the source says.
  std::map<std::string, std::string> pins;
  for (const SourceFile& file : job_.source.files) {
    if (!file.sha256.empty()) pins[file.key] = file.sha256;
  }
  for (RemoteObject& object : objects) {
    if (auto pin = pins.find(object.key); pin != pins.end()) object.sha256 = pin->second;
    if (object.size > job_.max_file_size) {
      throw permanent_error("\"" + object.key + "\" is listed with " + std::to_string(object.size) +
                            " bytes, more than the " + std::to_string(job_.max_file_size) +
                            " a file may have (the sync's max_file_size); nothing was written");
    }
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

}  // namespace detail

SyncResult sync_from(Source& source, const SyncJob& job, SyncProgress& progress,
                     const std::stop_token& stop) {
  detail::Run run(source, job, progress, stop);
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
