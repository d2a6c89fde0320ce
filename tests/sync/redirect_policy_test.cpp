#include "sync/sources/redirect_policy.hpp"

#include <doctest/doctest.h>

using mh::sync::redirect_refusal;
using mh::sync::RedirectPolicy;

TEST_SUITE("unit") {
  TEST_CASE("redirect_policy: same host, never down to http, other hosts only when allowed") {
    const RedirectPolicy policy{5, {"cdn.example.org", "*.hf.co"}};
    const std::string from = "https://models.example.org/llama/a.bin";
    CHECK(redirect_refusal(from, "https://models.example.org/blobs/a", policy).empty());
    CHECK(redirect_refusal(from, "https://MODELS.example.org:8443/a", policy).empty());
    CHECK(redirect_refusal(from, "https://cdn.example.org/a?sig=1", policy).empty());
    CHECK(redirect_refusal(from, "https://cas-bridge.xethub.hf.co/x", policy).empty());
    CHECK(redirect_refusal("http://models.example.org/a", "https://models.example.org/a", policy)
              .empty());  // upgrades are fine

    const std::string down = redirect_refusal(from, "http://models.example.org/a.bin", policy);
    CHECK(down.find("https down to http") != std::string::npos);
    CHECK(!redirect_refusal(from, "http://cdn.example.org/a", policy).empty());
    const std::string other = redirect_refusal(from, "https://evil.example.net/a?x=y", policy);
    CHECK(other.find("\"evil.example.net\"") != std::string::npos);
    CHECK(other.find("x=y") == std::string::npos);  // never the target's path or query
    CHECK(!redirect_refusal(from, "https://hf.co/x", policy).empty());  // "*.hf.co": below only
    CHECK(!redirect_refusal(from, "https://nothf.co/x", policy).empty());
    CHECK(redirect_refusal(from, "file:///etc/shadow", policy).find("\"file\"") !=
          std::string::npos);
    CHECK(!redirect_refusal(from, "ftp://models.example.org/a", policy).empty());
    CHECK(!redirect_refusal(from, "not a url", policy).empty());
    CHECK(!redirect_refusal(from, "https://models.example.org/a", RedirectPolicy{0, {}}).empty());
  }
}
