// One model's sync bookkeeping: states as an enum, the error, progress and totals.
#include "model/sync_tracker.hpp"
#include "sync/synchronizer.hpp"

#include <doctest/doctest.h>

using namespace mh::host;

TEST_CASE("sync tracker: idle, running, done, failed; totals add up") {
  SyncTracker tracker;
  CHECK(tracker.state() == ModelSyncState::idle);
  CHECK(tracker.view().state == ModelSyncState::idle);

  auto progress = tracker.start();
  REQUIRE(progress);
  progress->begin_transfers(100, 2);
  progress->add_bytes(40);
  progress->file_started("weights.bin");
  SyncView view = tracker.view();
  CHECK(view.state == ModelSyncState::running);
  CHECK(view.bytes_done == 40);
  CHECK(view.bytes_total == 100);
  CHECK(view.files_total == 2);
  CHECK(view.current_file == "weights.bin");

  mh::sync::SyncResult failed;
  failed.error = "weights.bin: connection reset";
  failed.bytes_transferred = 40;
  failed.duration = std::chrono::milliseconds(500);
  tracker.finish(failed);
  CHECK(tracker.state() == ModelSyncState::failed);
  CHECK(tracker.error() == "weights.bin: connection reset");

  // Announced (the admin API answers 202 next): running, the old error gone.
  tracker.announce();
  CHECK(tracker.state() == ModelSyncState::running);
  CHECK_FALSE(tracker.error());

  tracker.start();
  mh::sync::SyncResult cancelled;
  cancelled.cancelled = true;
  tracker.finish(cancelled);
  CHECK(tracker.error() == "cancelled");

  tracker.start();
  mh::sync::SyncResult ok;
  ok.ok = true;
  ok.bytes_transferred = 60;
  ok.duration = std::chrono::milliseconds(1500);
  tracker.finish(ok);
  CHECK(tracker.state() == ModelSyncState::done);
  CHECK_FALSE(tracker.view().error);
  CHECK(tracker.totals().bytes == 100);
  CHECK(tracker.totals().seconds == doctest::Approx(2.0));
  CHECK(tracker.totals().runs == 3);
  CHECK(tracker.totals().failures == 2);

  tracker.nothing_to_sync();
  CHECK(tracker.state() == ModelSyncState::done);
}

TEST_CASE("sync tracker: states have their admin API names") {
  CHECK(to_string(ModelSyncState::idle) == "idle");
  CHECK(to_string(ModelSyncState::running) == "running");
  CHECK(to_string(ModelSyncState::done) == "done");
  CHECK(to_string(ModelSyncState::failed) == "failed");
}
