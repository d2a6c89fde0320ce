#include "model/manifest.hpp"

#include "manifest_fields.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <limits>

namespace mh::host {

namespace json = boost::json;

using namespace manifest_fields;

ParsedManifest parse_manifest(std::string_view text, std::string_view file) {
  boost::system::error_code error;
  json::value root = json::parse(text, error);
  if (error) {
    throw ManifestError(std::string(file) + ": not valid JSON: " + error.message());
  }
  if (!root.is_object()) {
    throw ManifestError(std::string(file) + ": must hold a JSON object, got " + quote_value(root));
  }
  ParsedManifest parsed;
  Manifest& manifest = parsed.manifest;
  bool has_max_queue = false;
  bool has_limits = false;
  constexpr std::uint64_t kMaxConcurrency = 1u << 20;
  for (const auto& [key_view, value] : root.as_object()) {
    const std::string key(key_view);
    if (!key.empty() && key.front() == '_') continue;  // a comment
    if (key == "download_files_from") {
      manifest.download_files_from = read_string(file, key, value);
    } else if (key == "download_files_to") {
      manifest.download_files_to = read_string(file, key, value);
    } else if (key == "plugin") {
      manifest.plugin = read_string(file, key, value);
    } else if (key == "config") {
      if (!value.is_object()) fail(file, key, "an object", value);
      manifest.config_json = json::serialize(value);
    } else if (key == "max_concurrency") {
      manifest.max_concurrency = static_cast<std::uint32_t>(
          read_integer(file, key, value, 1, kMaxConcurrency, "a positive integer"));
    } else if (key == "max_queue") {
      manifest.max_queue = static_cast<std::uint32_t>(
          read_integer(file, key, value, 0, kMaxConcurrency, "a non-negative integer"));
      has_max_queue = true;
    } else if (key == "timeout_ms") {
      manifest.timeout_ms = read_integer(file, key, value, 0, std::uint64_t{1} << 40,
                                         "a non-negative integer (0: no deadline)");
    } else if (key == "load_timeout_ms") {
      manifest.load_timeout_ms =
          read_integer(file, key, value, 1, std::uint64_t{1} << 40, "a positive integer");
    } else if (read_isolation_key(file, key, value, parsed)) {
      has_limits = has_limits || key == "limits";
    } else if (key == "files") {
      constexpr std::string_view kFilesShape =
          "a list of file names or {\"path\": name, \"sha256\": hex} objects";
      if (!value.is_array()) fail(file, key, kFilesShape, value);
      for (const auto& item : value.as_array()) {
        if (item.is_string() && !item.as_string().empty()) {
          manifest.files.push_back(sync::SourceFile{std::string(item.as_string()), {}});
          continue;
        }
        // {"path": "weights/model.safetensors", "sha256": "<64 hex digits>"}; the sync checks
        // the digest's form (files[i]: ...) and, after the transfer, the content.
        const json::object* entry = item.if_object();
        const json::value* path = entry != nullptr ? entry->if_contains("path") : nullptr;
        const json::value* sha256 = entry != nullptr ? entry->if_contains("sha256") : nullptr;
        const std::size_t known = (path != nullptr ? 1 : 0) + (sha256 != nullptr ? 1 : 0);
        if (path == nullptr || !path->is_string() || path->as_string().empty() ||
            (sha256 != nullptr && !sha256->is_string()) || entry->size() != known) {
          fail(file, key, kFilesShape, item);
        }
        manifest.files.push_back(
            sync::SourceFile{std::string(path->as_string()),
                             sha256 != nullptr ? std::string(sha256->as_string()) : std::string()});
      }
    } else {
      parsed.warnings.push_back(std::string(file) + ": unknown key \"" + key +
                                "\" ignored (keys starting with '_' are comments)");
    }
  }
  check_isolation_keys(file, has_limits, parsed);
  if (!has_max_queue) manifest.max_queue = manifest.max_concurrency * 2;
  if (!manifest.files.empty() && !manifest.download_files_from) {
    parsed.warnings.push_back(std::string(file) +
                              ": \"files\" is ignored without \"download_files_from\"");
  }
  return parsed;
}

}  // namespace mh::host
