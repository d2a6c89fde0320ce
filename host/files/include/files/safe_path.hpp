// Object keys become paths under the target directory, and only there.
//
// A key is a '/'-separated relative path. validate_key() refuses anything that could leave the
// target (absolute paths, "..", empty or "." components) or clobber the sync's own files. TargetDir
// then walks a key's directories with openat(O_NOFOLLOW), so a symlink planted inside the target
// cannot redirect a write outside it either.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "files/unique_fd.hpp"

namespace mh::files {

// Names the synchronizer keeps in the target directory; keys may not use them.
inline constexpr std::string_view kStateFileName = ".modelhost-sync.json";
inline constexpr std::string_view kLockFileName = ".modelhost-sync.lock";
inline constexpr std::string_view kReservedPrefix = ".modelhost-sync";
inline constexpr std::string_view kPartialMarker = ".partial-";
inline constexpr std::size_t kMaxPartialTag = 16;

// Empty when `key` is a safe relative file path; otherwise why it is not, e.g.
// `"../etc/passwd": ".." component would leave the target directory`.
std::string validate_key(std::string_view key);

// The name a partial download of `file_name` gets in the same directory: ".<name>.partial-<tag>".
std::string partial_name(std::string_view file_name, std::string_view tag);
// True when `entry` is a partial download of `file_name` (any tag).
bool is_partial_of(std::string_view entry, std::string_view file_name);

// "a/b/c.bin" -> {"a/b", "c.bin"}; "c.bin" -> {"", "c.bin"}.
std::pair<std::string_view, std::string_view> split_key(std::string_view key);

// Modes of what a sync creates: private to the service's user and group by default. Applied
// exactly (fchmod), whatever the process umask, so a cache never ends up world-readable.
inline constexpr mode_t kPrivateFileMode = 0640;
inline constexpr mode_t kPrivateDirMode = 0750;

class TargetDir {
 public:
  // Creates the directory when missing (its missing parents with the default mode, the directory
  // itself with `dir_mode`), then holds it open. Directories open_dir() creates get `dir_mode`.
  // Throws SyncError (permanent) with the path and the reason.
  explicit TargetDir(const std::filesystem::path& root, mode_t dir_mode = kPrivateDirMode);

  const std::filesystem::path& root() const { return root_; }
  int fd() const { return fd_.get(); }

  // Opens the directory `dir` ("" is the root; '/'-separated, already validated), creating missing
  // components when `create`. Never follows a symlink. Returns an invalid fd when a component is
  // missing and !create; throws SyncError (permanent) when a component is not a directory.
  UniqueFd open_dir(std::string_view dir, bool create) const;

  // lstat of a key's file relative to the root; nullopt when it (or a directory on the way) is
  // missing. Never follows symlinks.
  std::optional<struct stat> stat_key(std::string_view key) const;

 private:
  std::filesystem::path root_;
  mode_t dir_mode_;
  UniqueFd fd_;
};

}  // namespace mh::files
