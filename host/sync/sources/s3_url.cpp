#include "sync/sources/s3_url.hpp"

namespace mh::sync {

std::string aws_uri_encode(std::string_view value, bool keep_slash) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u == '-' ||
        u == '_' || u == '.' || u == '~' || (keep_slash && u == '/')) {
      out += c;
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 15];
    }
  }
  return out;
}

std::string list_objects_v2_url(std::string_view endpoint, std::string_view bucket,
                                std::string_view prefix, std::string_view continuation_token,
                                int max_keys) {
  // Parameter names in byte order: continuation-token < list-type < max-keys < prefix.
  std::string url(endpoint);
  url += '/';
  url += aws_uri_encode(bucket, false);
  url += '?';
  if (!continuation_token.empty()) {
    url += "continuation-token=" + aws_uri_encode(continuation_token, false) + "&";
  }
  url += "list-type=2";
  if (max_keys > 0) url += "&max-keys=" + std::to_string(max_keys);
  url += "&prefix=" + aws_uri_encode(prefix, false);
  return url;
}

std::string object_url(std::string_view endpoint, std::string_view bucket, std::string_view key) {
  std::string url(endpoint);
  url += '/';
  url += aws_uri_encode(bucket, false);
  url += '/';
  url += aws_uri_encode(key, true);
  return url;
}

}  // namespace mh::sync
