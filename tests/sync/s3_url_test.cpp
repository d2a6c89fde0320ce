#include "sync/sources/s3_url.hpp"

#include <doctest/doctest.h>

using namespace mh::sync;

TEST_SUITE("unit") {
  TEST_CASE("s3_url: SigV4 URI encoding") {
    CHECK(aws_uri_encode("AZaz09-_.~", false) == "AZaz09-_.~");
    CHECK(aws_uri_encode("a b+c/d=e", false) == "a%20b%2Bc%2Fd%3De");
    CHECK(aws_uri_encode("a b/c", true) == "a%20b/c");
    CHECK(aws_uri_encode("ü", false) == "%C3%BC");
  }

  TEST_CASE("s3_url: ListObjectsV2 query parameters are in canonical order") {
    CHECK(list_objects_v2_url("http://h:1", "bkt", "models/x/", "", 0) ==
          "http://h:1/bkt?list-type=2&prefix=models%2Fx%2F");
    CHECK(list_objects_v2_url("http://h:1", "bkt", "", "tok/+=", 2) ==
          "http://h:1/bkt?continuation-token=tok%2F%2B%3D&list-type=2&max-keys=2&prefix=");
    CHECK(object_url("https://s3.eu-west-1.amazonaws.com", "bkt", "a b/c.bin") ==
          "https://s3.eu-west-1.amazonaws.com/bkt/a%20b/c.bin");
  }
}
