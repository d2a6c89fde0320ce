// `download_files_from` parsed into where the files are: a local directory, an S3 prefix, or an
// HTTP(S) base URL with an explicit list of files.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace mh::sync {

// One entry of a model's `files` list: a key relative to the source root and, optionally, the
// SHA-256 its content must have. A pinned file whose bytes hash otherwise is a permanent error
// naming it (the download is discarded), whatever the source: the pin is the operator's word.
struct SourceFile {
  std::string key;
  std::string sha256;  // lowercase hex, 64 digits; "" when not pinned

  bool operator==(const SourceFile&) const = default;
};

struct SourceUri {
  enum class Kind { local, s3, http };

  Kind kind = Kind::local;
  std::filesystem::path path;     // local: absolute, lexically normal directory
  std::string bucket;             // s3
  std::string prefix;             // s3: "" (whole bucket) or ends with '/'
  std::string base_url;           // http: "http(s)://host[:port]/path/", ends with '/'
  std::vector<SourceFile> files;  // required for http; for local/s3 a filter (only these, each
                                  // must exist); either way their pins are checked

  std::vector<std::string> keys() const;  // files' keys, in order

  // Canonical text, for logs, the state file and comparing two manifests' sources:
  // "/srv/models/llama/", "s3://bucket/models/llama/", "https://host/models/llama/".
  std::string to_string() const;
};

// Parses a `download_files_from` value. Accepted forms:
//   /abs/dir   file:///abs/dir   file://localhost/abs/dir
//   s3://bucket   s3://bucket/prefix   (a prefix always ends with '/': it names a "directory")
//   https://host/base/   http://host/base/   (need `files`)
//   relative/path   resolved against `storage_root` (hostd's --storage), which is any of the above
// `files` are validated as object keys, and pins as 64 hex digits (uppercase is accepted and
// lowered). Throws std::invalid_argument whose message quotes the bad value, e.g.
// `download_files_from: "s3:///x": missing bucket name` or `files[2]: "sha256" ...`.
SourceUri parse_source_uri(std::string_view value, std::string_view storage_root,
                           std::vector<SourceFile> files);
// The same with plain keys (no pins), as a manifest's list of file names gives them.
SourceUri parse_source_uri(std::string_view value, std::string_view storage_root = {},
                           const std::vector<std::string>& files = {});

}  // namespace mh::sync
