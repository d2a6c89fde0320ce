// Where an S3-compatible store is and who we are to it: the standard AWS_* variables.
#pragma once

#include <string>

namespace mh::sync {

struct S3Settings {
  std::string region = "us-east-1";
  std::string endpoint;       // scheme://host[:port], no trailing '/'; requests use path-style URLs
  std::string access_key_id;  // empty: anonymous (unsigned) requests
  std::string secret_access_key;
  std::string session_token;  // sent as x-amz-security-token when not empty
  int list_page_size = 0;     // max-keys for ListObjectsV2; 0 = the server's default (1000)

  // AWS_REGION (else AWS_DEFAULT_REGION, else us-east-1), AWS_ENDPOINT_URL_S3 or
  // AWS_ENDPOINT_URL (else https://s3.<region>.amazonaws.com), AWS_ACCESS_KEY_ID,
  // AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN.
  static S3Settings from_env();
};

}  // namespace mh::sync
