// The sync entry point: make a target directory hold exactly the files of a source, fetching
// only what changed.
//
//   lock <target>/.modelhost-sync.lock (waits for another process or thread syncing it)
//   list the source (retried) -> refuse unsafe keys -> compare with the state file and the
//   local files -> fetch what differs in parallel, each into a partial file, verify size and
//   checksum, fsync, rename -> delete files that vanished from the source and that the state
//   says this sync put there -> write the state file atomically.
//
// A failure or a kill at any point leaves every real file name either absent, the old complete
// copy or the new complete copy. Interrupted downloads are kept (fsynced, recorded) and resumed
// by the next sync if the remote object is unchanged; stray partials are removed.
//
// Nothing a source says is trusted further than that: a transfer never grows past the size the
// listing announced, a listed size over max_file_size, a listing past its limits (SourceSettings),
// a redirect the policy refuses, or a file whose pinned SHA-256 differs fails with a permanent
// error naming the key; what the sync creates is private (file_mode, dir_mode).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <stop_token>
#include <string>

#include "files/safe_path.hpp"
#include "sync/retry.hpp"
#include "sync/source.hpp"
#include "sync/source_uri.hpp"
#include "sync/sync_progress.hpp"

namespace mh::sync {

struct SyncJob {
  SourceUri source;                // from parse_source_uri(download_files_from, --storage, files)
  std::filesystem::path target;    // download_files_to; created when missing
  SourceSettings source_settings;  // S3 endpoint/credentials; defaults to the AWS_* variables
  int parallel = 4;                // files transferred at once
  RetryPolicy retry;               // for listing and for each file
  bool verify_all = false;         // re-hash every local file, not only those whose stat changed
  std::uint64_t max_bytes_per_sec = 0;  // per transfer, 0 = unlimited (tests slow transfers down)
  // Modes of what the sync creates: files (partials included), the directories below the target,
  // and the target itself when the sync makes it. Applied exactly, whatever the umask; files
  // already synced with another mode get it at the next sync.
  mode_t file_mode = files::kPrivateFileMode;  // 0640
  mode_t dir_mode = files::kPrivateDirMode;    // 0750
  // The largest file the sync accepts: a listing that announces a bigger one fails before any
  // transfer (naming the key). A transfer itself never exceeds the size its listing announced.
  std::uint64_t max_file_size = std::uint64_t{1} << 40;  // 1 TiB
};

struct SyncResult {
  bool ok = false;
  bool cancelled = false;               // stopped through the stop_token (ok is false)
  std::string error;                    // when !ok: what failed, with the key and the reason
  std::uint64_t bytes_transferred = 0;  // received from the source by this sync
  std::size_t files_transferred = 0;
  std::size_t files_unchanged = 0;
  std::size_t files_deleted = 0;  // vanished from the source, removed locally
  std::size_t files_total = 0;    // files of the source (after the `files` filter)
  std::uint64_t bytes_total = 0;  // their total size
  std::chrono::milliseconds duration{0};
  std::string fingerprint;  // content_fingerprint() of the synced files; empty unless ok
  bool changed = false;     // fingerprint differs from the previous successful sync's
};

// Never throws; everything that goes wrong is in the result. `progress` may be read from other
// threads while this runs. Blocking: run it off latency-sensitive threads.
SyncResult sync(const SyncJob& job, SyncProgress& progress, const std::stop_token& stop = {});

// The same with a given source (job.source is then used only for its text and `files` filter):
// for tests and for callers that build their own Source.
SyncResult sync_from(Source& source, const SyncJob& job, SyncProgress& progress,
                     const std::stop_token& stop = {});

}  // namespace mh::sync
