// The two S3 XML documents the sync reads: a ListObjectsV2 page and an error body.
// A small, strict tag extractor for these fixed shapes (no general XML parser is needed,
// and libxml2 is not a dependency): elements are found by exact name, text is unescaped.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mh::sync {

struct ListedObject {
  std::string key;  // full key, prefix included
  std::uint64_t size = 0;
  std::string etag;  // without the surrounding quotes
  std::string last_modified;
};

struct ListPage {
  std::vector<ListedObject> objects;
  bool truncated = false;
  std::string next_continuation_token;
};

// Throws std::runtime_error naming what is missing or malformed.
ListPage parse_list_objects_v2(std::string_view xml);

struct S3ErrorBody {
  std::string code;  // e.g. "NoSuchKey", "AccessDenied", "SignatureDoesNotMatch"
  std::string message;
};

// nullopt when `xml` is not an S3 <Error> document.
std::optional<S3ErrorBody> parse_s3_error(std::string_view xml);

// Replaces &amp; &lt; &gt; &quot; &apos; &#N; &#xN; (UTF-8 encoded); throws on a bad entity.
std::string xml_unescape(std::string_view text);

}  // namespace mh::sync
