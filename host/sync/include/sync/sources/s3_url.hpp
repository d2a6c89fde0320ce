// Path-style S3 request URLs whose query strings are already in SigV4 canonical form
// (parameters sorted, values encoded the AWS way). libcurl 7.88's CURLOPT_AWS_SIGV4 signs the
// path and query exactly as given, so building them canonically here is what makes the
// signature match the one the server computes.
#pragma once

#include <string>
#include <string_view>

namespace mh::sync {

// RFC 3986 encoding as SigV4 wants it: A-Z a-z 0-9 - _ . ~ stay, every other byte becomes %XX
// (uppercase hex); '/' stays too when `keep_slash`.
std::string aws_uri_encode(std::string_view value, bool keep_slash);

// <endpoint>/<bucket>?[continuation-token=T&]list-type=2[&max-keys=N]&prefix=P
std::string list_objects_v2_url(std::string_view endpoint, std::string_view bucket,
                                std::string_view prefix, std::string_view continuation_token,
                                int max_keys);

// <endpoint>/<bucket>/<key, encoded with its slashes kept>
std::string object_url(std::string_view endpoint, std::string_view bucket, std::string_view key);

}  // namespace mh::sync
