#include "sync/sources/s3_xml.hpp"

#include <doctest/doctest.h>

#include <stdexcept>

using namespace mh::sync;

TEST_SUITE("unit") {
  TEST_CASE("s3_xml: a ListObjectsV2 page") {
    const char* xml = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix>models/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <Contents><Key>models/a &amp; b.json</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified>
    <ETag>&quot;9e107d9d372bb6826bd81d3542a419d6&quot;</ETag><Size>43</Size>
    <StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key>models/big.bin</Key><ETag>"abc-12"</ETag><Size>123456789012</Size>
    <Owner><ID>x</ID><DisplayName>y</DisplayName></Owner></Contents>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
  <KeyCountExtra/>
</ListBucketResult>)";
    ListPage page = parse_list_objects_v2(xml);
    REQUIRE(page.objects.size() == 2);
    CHECK(page.objects[0].key == "models/a & b.json");
    CHECK(page.objects[0].etag == "9e107d9d372bb6826bd81d3542a419d6");
    CHECK(page.objects[0].size == 43);
    CHECK(page.objects[0].last_modified == "2024-01-01T00:00:00.000Z");
    CHECK(page.objects[1].etag == "abc-12");
    CHECK(page.objects[1].last_modified.empty());
    CHECK(page.objects[1].size == 123456789012ULL);
    CHECK(page.truncated);
    CHECK(page.next_continuation_token == "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
  }

  TEST_CASE("s3_xml: an empty last page, and malformed ones") {
    ListPage page = parse_list_objects_v2(
        "<ListBucketResult><Name>b</Name><Prefix/><KeyCount>0</KeyCount>"
        "<IsTruncated>false</IsTruncated></ListBucketResult>");
    CHECK(page.objects.empty());
    CHECK(!page.truncated);
    CHECK_THROWS_AS(parse_list_objects_v2("<Error><Code>x</Code></Error>"), std::runtime_error);
    CHECK_THROWS_AS(parse_list_objects_v2("<ListBucketResult><Contents><Key>a</Key><Size>x</Size>"
                                          "</Contents></ListBucketResult>"),
                    std::runtime_error);
    CHECK_THROWS_AS(parse_list_objects_v2("<ListBucketResult><IsTruncated>true</IsTruncated>"
                                          "</ListBucketResult>"),
                    std::runtime_error);
  }

  TEST_CASE("s3_xml: error bodies and entities") {
    auto error = parse_s3_error(
        "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>The specified key does not "
        "exist.</Message><Key>a</Key></Error>");
    REQUIRE(error.has_value());
    CHECK(error->code == "NoSuchKey");
    CHECK(error->message == "The specified key does not exist.");
    CHECK(!parse_s3_error("<html>nope</html>").has_value());
    CHECK(xml_unescape("&lt;&#65;&#x42;&gt;&apos;&#xFC;") == "<AB>'\xC3\xBC");
    CHECK_THROWS_AS(xml_unescape("&bogus;"), std::runtime_error);
  }
}
