// The synchronizer's one run, private to host/sync: what sync_from() does, split by concern over
//   synchronizer.cpp     the run's outline: lock, list, check keys and limits, compare, transfer,
//                        delete, save; the result and its log lines
//   sync_local_copies.cpp   what is on disk already: unchanged files, partials to resume or
//                           remove, vanished files to delete
//   sync_transfers.cpp   the parallel transfers, each into a partial file, verified, renamed
#pragma once

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "files/safe_path.hpp"
#include "sync/source.hpp"
#include "sync/sync_error.hpp"
#include "sync/sync_progress.hpp"
#include "sync/sync_state.hpp"
#include "sync/synchronizer.hpp"

namespace mh::sync::detail {

using Clock = std::chrono::steady_clock;

inline std::int64_t ns_of(const struct timespec& ts) {
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

inline std::string join_key(std::string_view dir, std::string_view name) {
  return dir.empty() ? std::string(name) : std::string(dir) + "/" + std::string(name);
}

inline std::string mb(std::uint64_t bytes) {
  return fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1e6);
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
  void make_private(const std::string& key);
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

}  // namespace mh::sync::detail
