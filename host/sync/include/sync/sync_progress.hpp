// What a running sync has done so far, readable from any thread while it runs
// (hostd shows it in `hostctl status` and as a progress bar).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace mh::sync {

enum class SyncPhase {
  idle,              // not started
  waiting_for_lock,  // another process (or thread) is syncing the same target directory
  listing,           // asking the source what it holds
  checking,          // comparing with the local copies (may hash changed files)
  transferring,      // fetching files
  finishing,         // deleting vanished files, writing the state file
  done,
  failed,
};

const char* to_string(SyncPhase phase);

struct SyncProgressSnapshot {
  SyncPhase phase = SyncPhase::idle;
  std::uint64_t bytes_done = 0;      // of the files this sync fetches (resumed bytes count as done)
  std::uint64_t bytes_total = 0;     // sum of the sizes of the files this sync fetches
  std::size_t files_done = 0;        // files fetched and in place
  std::size_t files_total = 0;       // files this sync fetches (not the unchanged ones)
  std::vector<std::string> current;  // keys being transferred right now
};

class SyncProgress {
 public:
  SyncProgressSnapshot snapshot() const;
  SyncPhase phase() const { return phase_.load(); }
  std::uint64_t bytes_done() const { return bytes_done_.load(); }
  std::uint64_t bytes_total() const { return bytes_total_.load(); }
  std::size_t files_done() const { return files_done_.load(); }
  std::size_t files_total() const { return files_total_.load(); }

  // Writer side, used by the synchronizer.
  void set_phase(SyncPhase phase) { phase_.store(phase); }
  void begin_transfers(std::uint64_t bytes_total, std::size_t files_total);
  void add_bytes(std::int64_t delta);  // negative when a transfer restarts from 0
  void file_started(const std::string& key);
  void file_ended(const std::string& key, bool completed);

 private:
  std::atomic<SyncPhase> phase_{SyncPhase::idle};
  std::atomic<std::uint64_t> bytes_done_{0};
  std::atomic<std::uint64_t> bytes_total_{0};
  std::atomic<std::size_t> files_done_{0};
  std::atomic<std::size_t> files_total_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> current_;
};

}  // namespace mh::sync
