// Fuzzes the S3 XML readers (host/sync/sources/s3_xml.hpp): a ListObjectsV2 page and an error
// body come from a storage server hostd does not control. A page either parses or throws
// std::runtime_error; an error body is recognised or not; nothing else may happen.
#include "sync/sources/s3_xml.hpp"

#include <cstdint>
#include <stdexcept>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view xml(reinterpret_cast<const char*>(data), size);
  try {
    const mh::sync::ListPage page = mh::sync::parse_list_objects_v2(xml);
    for (const auto& object : page.objects) {
      volatile std::size_t used = object.key.size() + object.etag.size();
      (void)used;
    }
  } catch (const std::runtime_error&) {
  }
  try {
    (void)mh::sync::parse_s3_error(xml);
  } catch (const std::runtime_error&) {  // a bad entity in the code or message
  }
  try {
    (void)mh::sync::xml_unescape(xml);
  } catch (const std::runtime_error&) {
  }
  return 0;
}
