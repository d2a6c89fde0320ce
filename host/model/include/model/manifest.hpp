#pragma once
// model.json, parsed at the edge into a plain struct (docs/plugin-guide.md, "model.json"). Keys
// starting with '_' are comments; unknown keys give warnings; a wrong type fails with the file, the
// key and the bad value.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "model/isolation_policy.hpp"
#include "sync/source_uri.hpp"

namespace mh::host {

class ManifestError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Manifest {
  // Where the model's files live: a plain path, file://, s3:// or https:// (with `files`);
  // relative values resolve against hostd's --storage. Absent: the model has no files to sync.
  std::optional<std::string> download_files_from;
  // Where they go; absent: hostd's --cache-dir.
  std::optional<std::string> download_files_to;
  // The files to fetch, relative to the source (required for https://, a filter otherwise); each
  // a name, or {"path": name, "sha256": hex} to pin its content (checked by the sync).
  std::vector<sync::SourceFile> files;
  // The plugin library, relative to the manifest's directory (then to --plugin-dir folders);
  // absent: the only .so next to model.json.
  std::optional<std::string> plugin;
  // The "config" object, as compact JSON text handed to the plugin's init.
  std::string config_json = "{}";
  // Requests running in the plugin at once; more wait in a queue of max_queue, beyond: 429.
  std::uint32_t max_concurrency = 64;
  std::uint32_t max_queue = 128;  // default: 2 x max_concurrency
  // Deadline of one request (0: none); past it the client gets 504 and the plugin is told.
  std::uint64_t timeout_ms = 300000;
  // How long init may take; absent: hostd's --load-timeout-ms.
  std::optional<std::uint64_t> load_timeout_ms;
  // How the plugin runs; absent: hostd's --default-isolation (process unless told otherwise).
  std::optional<Isolation> isolation;
  RestartPolicy restart;   // "restart": {"max_restarts", "window_seconds"}
  IsolationLimits limits;  // "limits": {"memory", "cpus", "environment", "core_dumps"}
  // How long past its deadline (or its cancellation) a request may stay unfinished before it
  // counts as stuck; absent: hostd's default.
  std::optional<std::uint64_t> stuck_grace_ms;
};

struct ParsedManifest {
  Manifest manifest;
  std::vector<std::string> warnings;  // e.g. unknown keys, each naming the file and key
};

// Parses the text of a model.json; `file` names it in messages. Throws ManifestError.
ParsedManifest parse_manifest(std::string_view text, std::string_view file);

}  // namespace mh::host
