#include "model/sync_tracker.hpp"

#include "sync/synchronizer.hpp"

namespace mh::host {

void SyncTracker::announce() {
  state_ = ModelSyncState::running;
  error_.reset();
}

std::shared_ptr<sync::SyncProgress> SyncTracker::start() {
  announce();
  progress_ = std::make_shared<sync::SyncProgress>();
  return progress_;
}

void SyncTracker::finish(const sync::SyncResult& result) {
  state_ = result.ok ? ModelSyncState::done : ModelSyncState::failed;
  if (!result.ok) error_ = result.cancelled ? "cancelled" : result.error;
  totals_.bytes += result.bytes_transferred;
  totals_.seconds += std::chrono::duration<double>(result.duration).count();
  ++totals_.runs;
  if (!result.ok) ++totals_.failures;
}

void SyncTracker::nothing_to_sync() {
  state_ = ModelSyncState::done;
  error_.reset();
}

SyncView SyncTracker::view() const {
  SyncView view;
  view.state = state_;
  view.error = error_;
  if (progress_) {
    const sync::SyncProgressSnapshot snapshot = progress_->snapshot();
    view.bytes_done = snapshot.bytes_done;
    view.bytes_total = snapshot.bytes_total;
    view.files_done = snapshot.files_done;
    view.files_total = snapshot.files_total;
    if (!snapshot.current.empty()) view.current_file = snapshot.current.front();
  }
  return view;
}

}  // namespace mh::host
