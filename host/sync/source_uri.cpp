#include "sync/source_uri.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "files/safe_path.hpp"

namespace mh::sync {

namespace {

[[noreturn]] void fail(std::string_view value, const std::string& why) {
  throw std::invalid_argument("download_files_from: \"" + std::string(value) + "\": " + why);
}

bool has_scheme(std::string_view value) {
  const std::size_t colon = value.find("://");
  if (colon == std::string_view::npos || colon == 0) return false;
  for (std::size_t i = 0; i < colon; ++i) {
    const char c = value[i];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string percent_decode(std::string_view value, std::string_view whole) {
  std::string out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '%') {
      if (i + 2 >= value.size() || !std::isxdigit(static_cast<unsigned char>(value[i + 1])) ||
          !std::isxdigit(static_cast<unsigned char>(value[i + 2]))) {
        fail(whole, "bad percent-encoding");
      }
      out += static_cast<char>(std::stoi(std::string(value.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += value[i];
    }
  }
  return out;
}

// Relative values must stay under the storage root.
void check_relative(std::string_view value) {
  std::size_t start = 0;
  while (start <= value.size()) {
    const std::size_t end = std::min(value.find('/', start), value.size());
    if (value.substr(start, end - start) == "..")
      fail(value, "\"..\" would leave the storage root");
    start = end + 1;
  }
}

SourceUri parse_local(std::string_view path_text, std::string_view whole) {
  if (path_text.empty() || path_text.front() != '/') fail(whole, "a local path must be absolute");
  SourceUri uri;
  uri.kind = SourceUri::Kind::local;
  uri.path = std::filesystem::path(path_text).lexically_normal();
  std::string text = uri.path.string();
  while (text.size() > 1 && text.back() == '/') text.pop_back();
  uri.path = text;
  return uri;
}

SourceUri parse_absolute(std::string_view value) {
  if (!has_scheme(value)) return parse_local(value, value);
  const std::size_t sep = value.find("://");
  const std::string scheme = lower(value.substr(0, sep));
  const std::string_view rest = value.substr(sep + 3);
  if (scheme == "file") {
    const std::size_t slash = rest.find('/');
    const std::string_view host = rest.substr(0, slash);
    if (!host.empty() && lower(host) != "localhost") {
      fail(value, "file:// URIs must name a local path (file:///path), not the host \"" +
                      std::string(host) + "\"");
    }
    if (slash == std::string_view::npos) fail(value, "file:// URI without a path");
    return parse_local(percent_decode(rest.substr(slash), value), value);
  }
  if (scheme == "s3") {
    const std::size_t slash = rest.find('/');
    SourceUri uri;
    uri.kind = SourceUri::Kind::s3;
    uri.bucket = std::string(rest.substr(0, slash));
    if (uri.bucket.empty()) fail(value, "missing bucket name (expected s3://bucket/prefix/)");
    if (uri.bucket.find_first_of("?#") != std::string::npos) {
      fail(value, "bucket name \"" + uri.bucket + "\" contains '?' or '#'");
    }
    if (slash != std::string_view::npos) uri.prefix = std::string(rest.substr(slash + 1));
    while (uri.prefix.starts_with('/')) uri.prefix.erase(0, 1);
    if (!uri.prefix.empty() && uri.prefix.back() != '/') uri.prefix += '/';
    if (uri.prefix.find("//") != std::string::npos) fail(value, "empty path component in prefix");
    return uri;
  }
  if (scheme == "https" || scheme == "http") {
    const std::size_t slash = rest.find('/');
    if (rest.substr(0, slash).empty()) fail(value, "missing host name");
    if (value.find_first_of("?#") != std::string_view::npos) {
      fail(value, "query strings and fragments are not supported in a base URL");
    }
    SourceUri uri;
    uri.kind = SourceUri::Kind::http;
    uri.base_url = scheme + "://" + std::string(rest);
    if (slash == std::string_view::npos) uri.base_url += '/';
    if (uri.base_url.back() != '/') uri.base_url += '/';
    return uri;
  }
  fail(value, "unsupported scheme \"" + scheme + "\" (use a path, file://, s3://, https://)");
}

}  // namespace

std::string SourceUri::to_string() const {
  switch (kind) {
    case Kind::local: {
      std::string text = path.string();
      if (text.back() != '/') text += '/';
      return text;
    }
    case Kind::s3:
      return "s3://" + bucket + "/" + prefix;
    case Kind::http:
      return base_url;
  }
  return {};
}

std::vector<std::string> SourceUri::keys() const {
  std::vector<std::string> out;
  out.reserve(files.size());
  for (const SourceFile& file : files) out.push_back(file.key);
  return out;
}

SourceUri parse_source_uri(std::string_view value, std::string_view storage_root,
                           const std::vector<std::string>& files) {
  std::vector<SourceFile> entries;
  entries.reserve(files.size());
  for (const std::string& key : files) entries.push_back(SourceFile{key, {}});
  return parse_source_uri(value, storage_root, std::move(entries));
}

SourceUri parse_source_uri(std::string_view value, std::string_view storage_root,
                           std::vector<SourceFile> files) {
  if (value.empty()) fail(value, "empty value");
  SourceUri uri;
  if (has_scheme(value) || value.front() == '/') {
    uri = parse_absolute(value);
  } else {
    if (storage_root.empty()) {
      fail(value,
           "is relative, but no storage root (hostd --storage) is set to resolve it against");
    }
    check_relative(value);
    std::string joined(storage_root);
    if (joined.back() != '/') joined += '/';
    std::string_view relative = value;
    while (relative.starts_with("./")) relative.remove_prefix(2);
    joined += relative;
    try {
      uri = parse_absolute(joined);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(std::string(e.what()) + " (from \"" + std::string(value) +
                                  "\" under the storage root \"" + std::string(storage_root) +
                                  "\")");
    }
  }
  for (std::size_t i = 0; i < files.size(); ++i) {
    const std::string where = "files[" + std::to_string(i) + "]: ";
    if (std::string why = files::validate_key(files[i].key); !why.empty()) {
      throw std::invalid_argument(where + why);
    }
    std::string& sha256 = files[i].sha256;
    if (sha256.empty()) continue;
    const bool hex = sha256.size() == 64 && std::all_of(sha256.begin(), sha256.end(), [](char c) {
                       return std::isxdigit(static_cast<unsigned char>(c)) != 0;
                     });
    if (!hex) {
      throw std::invalid_argument(where + "\"sha256\" of \"" + files[i].key +
                                  "\" must be 64 hexadecimal digits, got \"" + sha256 + "\"");
    }
    sha256 = lower(sha256);
  }
  if (uri.kind == SourceUri::Kind::http && files.empty()) {
    fail(value, "an HTTP(S) source needs an explicit \"files\" list");
  }
  uri.files = std::move(files);
  return uri;
}

}  // namespace mh::sync
