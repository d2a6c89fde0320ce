#pragma once
// One model's sync bookkeeping: the state of its latest sync, its progress while it runs, why it
// failed, and totals for /metrics.
//
//   idle ──► running ──► done
//               │
//               └──────► failed (with the reason; "cancelled" when stopped)
//
// A tracker goes back to running for every later sync. Not thread-safe by itself: its owner's
// lock guards it (the registry's mutex); the SyncProgress it hands out is thread-safe.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace mh::sync {
class SyncProgress;
struct SyncResult;
}  // namespace mh::sync

namespace mh::host {

enum class ModelSyncState { idle, running, done, failed };

constexpr std::string_view to_string(ModelSyncState state) {
  switch (state) {
    case ModelSyncState::idle:
      return "idle";
    case ModelSyncState::running:
      return "running";
    case ModelSyncState::done:
      return "done";
    case ModelSyncState::failed:
      return "failed";
  }
  return "failed";
}

// The latest sync, as status shows it.
struct SyncView {
  ModelSyncState state = ModelSyncState::idle;
  std::uint64_t bytes_done = 0;
  std::uint64_t bytes_total = 0;
  std::size_t files_done = 0;
  std::size_t files_total = 0;
  std::string current_file;  // one file being transferred now ("" when none)
  std::optional<std::string> error;
};

// Since hostd started, for /metrics.
struct SyncTotals {
  std::uint64_t bytes = 0;
  double seconds = 0;
  std::uint64_t runs = 0;
  std::uint64_t failures = 0;
};

class SyncTracker {
 public:
  // A sync will start soon: running from now, the previous error gone, so that a client that
  // polls status right after the admin API answered 202 never mistakes the previous outcome
  // for this one's.
  void announce();
  // A sync starts now: running, with fresh progress for the synchronizer to update.
  std::shared_ptr<sync::SyncProgress> start();
  // The sync ended: done, or failed with its error ("cancelled" when it was stopped); counted.
  void finish(const sync::SyncResult& result);
  // The model names no files: there is nothing to sync, which is done at once.
  void nothing_to_sync();

  ModelSyncState state() const noexcept { return state_; }
  const std::optional<std::string>& error() const noexcept { return error_; }
  SyncView view() const;
  const SyncTotals& totals() const noexcept { return totals_; }

 private:
  ModelSyncState state_ = ModelSyncState::idle;
  std::optional<std::string> error_;
  std::shared_ptr<sync::SyncProgress> progress_;  // the latest sync's (null before the first)
  SyncTotals totals_;
};

}  // namespace mh::host
