#pragma once
// hostd's private, content-addressed copies of plugin libraries: <dir>/<sha256>.so.
// dlopen never sees the operator's file: one replaced in place or still being copied cannot
// break a running model, and a changed library with the same name really loads anew (dlopen
// would hand back the old mapping for a path it already has open).
//
// A name is not proof of content: an existing <sha256>.so (left by a crash, corrupted on disk, or
// planted while the directory was open to others) is re-hashed before it is handed out, and
// replaced by the fresh copy when it differs or is not a regular file. The directory is made
// 0700 and the copies 0700, so between that check and dlopen only hostd's own user (or root)
// could swap a file. (Chosen over dlopen("/proc/self/fd/N") on a verified descriptor, which would
// close that window too, because the model layer loads by path and keeps the path in status.)
#include <filesystem>
#include <set>
#include <string>

namespace mh::host {

struct StoredPlugin {
  std::filesystem::path path;  // <dir>/<sha256>.so
  std::string sha256;          // of the bytes copied
};

class PluginStore {
 public:
  // `dir` is created when missing and made private (0700). Throws std::runtime_error when it
  // cannot be (owned by another user, say): a store others can write to would run their code.
  explicit PluginStore(std::filesystem::path dir);

  // Copies `source` into the store, hashing what it copies (so the name matches the content
  // even when the source changes meanwhile); reuses an existing copy only after re-hashing it.
  // The copy is written to a temporary name, fsynced and renamed. Throws std::runtime_error.
  StoredPlugin store(const std::filesystem::path& source) const;

  // Removes every copy (<sha256>.so) not in `live`: the model layer calls it with the copies
  // its live generations were loaded from, after a generation went. A copy dlopen()ed or
  // being run by a runner stays usable (the mapping outlives the name). Temporary files of a
  // copy in progress are left alone. Returns how many were removed; throws
  // std::runtime_error when the directory cannot be read.
  std::size_t remove_unused(const std::set<std::filesystem::path>& live) const;

  const std::filesystem::path& dir() const noexcept { return dir_; }

 private:
  std::filesystem::path dir_;
};

}  // namespace mh::host
