#include "sync/sources/s3_settings.hpp"

#include <cstdlib>

namespace mh::sync {

namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

}  // namespace

S3Settings S3Settings::from_env() {
  S3Settings s;
  if (auto region = env("AWS_REGION"); !region.empty()) {
    s.region = region;
  } else if (auto fallback = env("AWS_DEFAULT_REGION"); !fallback.empty()) {
    s.region = fallback;
  }
  s.endpoint = env("AWS_ENDPOINT_URL_S3");
  if (s.endpoint.empty()) s.endpoint = env("AWS_ENDPOINT_URL");
  if (s.endpoint.empty()) s.endpoint = "https://s3." + s.region + ".amazonaws.com";
  while (!s.endpoint.empty() && s.endpoint.back() == '/') s.endpoint.pop_back();
  s.access_key_id = env("AWS_ACCESS_KEY_ID");
  s.secret_access_key = env("AWS_SECRET_ACCESS_KEY");
  s.session_token = env("AWS_SESSION_TOKEN");
  return s;
}

}  // namespace mh::sync
