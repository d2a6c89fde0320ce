#include "sync/sync_progress.hpp"

#include <algorithm>

namespace mh::sync {

const char* to_string(SyncPhase phase) {
  switch (phase) {
    case SyncPhase::idle:
      return "idle";
    case SyncPhase::waiting_for_lock:
      return "waiting_for_lock";
    case SyncPhase::listing:
      return "listing";
    case SyncPhase::checking:
      return "checking";
    case SyncPhase::transferring:
      return "transferring";
    case SyncPhase::finishing:
      return "finishing";
    case SyncPhase::done:
      return "done";
    case SyncPhase::failed:
      return "failed";
  }
  return "unknown";
}

SyncProgressSnapshot SyncProgress::snapshot() const {
  SyncProgressSnapshot s;
  s.phase = phase_.load();
  s.bytes_done = bytes_done_.load();
  s.bytes_total = bytes_total_.load();
  s.files_done = files_done_.load();
  s.files_total = files_total_.load();
  std::lock_guard lock(mutex_);
  s.current = current_;
  return s;
}

void SyncProgress::begin_transfers(std::uint64_t bytes_total, std::size_t files_total) {
  bytes_done_.store(0);
  files_done_.store(0);
  bytes_total_.store(bytes_total);
  files_total_.store(files_total);
}

void SyncProgress::add_bytes(std::int64_t delta) {
  bytes_done_.fetch_add(static_cast<std::uint64_t>(delta));  // wraps correctly for negatives
}

void SyncProgress::file_started(const std::string& key) {
  std::lock_guard lock(mutex_);
  current_.push_back(key);
}

void SyncProgress::file_ended(const std::string& key, bool completed) {
  if (completed) files_done_.fetch_add(1);
  std::lock_guard lock(mutex_);
  if (auto it = std::find(current_.begin(), current_.end(), key); it != current_.end()) {
    current_.erase(it);
  }
}

}  // namespace mh::sync
