#pragma once
// hostd's private, content-addressed copies of plugin libraries: <dir>/<sha256>.so.
// dlopen never sees the operator's file: one replaced in place or still being copied cannot
// break a running model, and a changed library with the same name really loads anew (dlopen
// would hand back the old mapping for a path it already has open).
#include <filesystem>
#include <string>

namespace mh::host {

struct StoredPlugin {
  std::filesystem::path path;  // <dir>/<sha256>.so
  std::string sha256;          // of the bytes copied
};

class PluginStore {
 public:
  // `dir` is created when missing.
  explicit PluginStore(std::filesystem::path dir);

  // Copies `source` into the store, hashing what it copies (so the name matches the content
  // even when the source changes meanwhile); reuses an existing copy of the same content.
  // The copy is written to a temporary name, fsynced and renamed. Throws std::runtime_error.
  StoredPlugin store(const std::filesystem::path& source) const;

  const std::filesystem::path& dir() const noexcept { return dir_; }

 private:
  std::filesystem::path dir_;
};

}  // namespace mh::host
