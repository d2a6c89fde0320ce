#pragma once
// Reading --models-dir: each subdirectory holding a model.json is a model named after the
// directory. A scan reads and checks every manifest, resolves its plugin, its files' source
// and target, and hashes manifest and plugin — it loads and fetches nothing, so a broken model
// costs only its own entry. (Whether a model's synced files changed is the sync's to say.)
#include "model/manifest.hpp"
#include "sync/source_uri.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace mh::host {

struct ScanSettings {
  std::filesystem::path models_dir;
  std::vector<std::filesystem::path> plugin_dirs;  // --plugin-dir, searched after the model's dir
  std::filesystem::path cache_dir;                 // --cache-dir
  std::string storage;                             // --storage
};

// One model directory as found on disk.
struct ModelSource {
  std::string name;
  std::filesystem::path dir;          // the manifest's directory
  std::optional<Manifest> manifest;   // absent when model.json is broken
  std::vector<std::string> warnings;  // unknown keys and the like, for the log
  std::string error;                  // why this model cannot load ("" when it can)
  std::filesystem::path plugin_path;  // the plugin library as found (not yet copied)
  // Where the model's files come from, and the directory they are synced to (its
  // download_files_to, else <cache-dir>/<name>); unset when the manifest names no files.
  std::optional<sync::SourceUri> files_source;
  std::filesystem::path files_target;
  // SHA-256 over the manifest's and the plugin's bytes: changes when either does.
  std::string content_hash;

  // The directory the plugin reads the model's files from (mh_model_meta.files_dir): the
  // files target, or the manifest's directory when the model names no files.
  const std::filesystem::path& files_dir() const noexcept {
    return files_source ? files_target : dir;
  }
};

// Scans the whole directory; models sorted by name. Two models syncing different sources into
// one directory: the second (by name) gets an error. Never throws for one bad model (its
// `error` says what is wrong); throws std::runtime_error when the directory cannot be listed.
std::vector<ModelSource> scan_models_directory(const ScanSettings& settings);

// Whether `name` can be a model's name (it appears in URLs): [A-Za-z0-9][A-Za-z0-9._-]{0,127}.
bool is_valid_model_name(std::string_view name);

// The directory of hostd's private plugin copies inside the cache (hidden, so that it cannot
// be a model's default files directory).
std::filesystem::path plugin_store_dir(const std::filesystem::path& cache_dir);

}  // namespace mh::host
