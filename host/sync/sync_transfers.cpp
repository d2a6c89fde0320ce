// One sync run's transfers: the workers that fetch files in parallel (largest first), each into a
// partial file that refuses bytes past the listed size, then verified (size, MD5, pinned SHA-256),
// fsynced and renamed; transient failures retried with backoff and Range resume.
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "sync/partial_file.hpp"
#include "sync/retry.hpp"
#include "sync_run.hpp"

namespace mh::sync::detail {

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
  save_state(target_->fd(), state_, job_.file_mode);
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
  options.file_mode = job_.file_mode;
  options.max_size = object.size;  // write() refuses a byte more than listed

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
        if (file->offset() > object.size) {  // PartialFile's max_size makes this unreachable
          file->restart();
          throw permanent_error("got more than the " + std::to_string(object.size) +
                                " bytes listed: it changed during the sync; sync again");
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
          // The pinned digest is the operator's word: fetching the same bytes again cannot help,
          // and the download is discarded (permanent errors keep no partial).
          throw permanent_error("SHA-256 mismatch: got " + file->sha256() + ", expected " +
                                object.sha256 + "; the download was discarded");
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

}  // namespace mh::sync::detail
