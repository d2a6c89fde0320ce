// The state file a sync keeps in its target directory (.modelhost-sync.json): for every file it
// put there, what remote version it is a copy of and how the local copy looked (size, mtime,
// ctime, SHA-256). A file whose record still matches is not fetched again; a file that differs
// from its record is re-hashed and fetched again if its content changed. Files not in the
// state are the user's: a sync never deletes them.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "files/safe_path.hpp"

namespace mh::sync {

struct FileRecord {
  std::uint64_t size = 0;
  std::string version;  // RemoteObject::version it was fetched at
  std::string sha256;   // of the local copy
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
};

// A download interrupted after some bytes, fsynced and kept so a later sync can resume it.
struct PartialRecord {
  std::string file;        // the partial's path relative to the target ("dir/.x.partial-tag")
  std::string version;     // RemoteObject::version it is a prefix of
  std::uint64_t size = 0;  // the object's full size
};

struct SyncState {
  std::string source;       // SourceUri::to_string() of the last sync
  std::string fingerprint;  // content_fingerprint(files) after the last successful sync
  std::map<std::string, FileRecord> files;        // by key
  std::map<std::string, PartialRecord> partials;  // by key
};

// A hash over the sorted keys with their sizes and SHA-256s: equal exactly when the synced
// content is equal (mtimes and ETag formats do not enter it). Hex SHA-256.
std::string content_fingerprint(const std::map<std::string, FileRecord>& files);

std::string state_to_json(const SyncState& state);
// Throws std::runtime_error on malformed text. The file lives in a directory others may write to,
// so nothing in it is trusted: a record whose key fails files::validate_key (or a partial record
// whose file is not a partial of its key in the key's own directory) is dropped with a warning,
// and a later sync never stats, resumes or deletes anything by it.
SyncState state_from_json(std::string_view text);

// The state file is read whole; one larger than this is ignored as malformed.
inline constexpr std::size_t kMaxStateFileBytes = 64 * 1024 * 1024;

// Reads the state file in the directory `dir_fd`; an absent file is an empty state, and an
// unreadable, oversized or malformed one is logged and treated as empty (everything gets verified
// again).
SyncState load_state(int dir_fd);
// Writes atomically: temporary file (mode `mode`), fsync, rename, fsync of the directory. Throws
// SyncError.
void save_state(int dir_fd, const SyncState& state, mode_t mode = files::kPrivateFileMode);

// The state of a target directory, for callers outside a sync (hostd's status, or checking which
// source a cache directory holds); nullopt when it has none.
std::optional<SyncState> read_sync_state(const std::filesystem::path& target);

}  // namespace mh::sync
