#include "sync/sources/s3_xml.hpp"

#include <charconv>
#include <stdexcept>

namespace mh::sync {

namespace {

struct Element {
  std::string_view inner;  // text between the tags ("" for <Name/>)
  std::size_t end = 0;     // offset just past the element in the searched text
};

// Finds the next element named exactly `name` at or after `from`. Does not descend: the caller
// narrows the text to the parent element first.
std::optional<Element> find_element(std::string_view xml, std::string_view name,
                                    std::size_t from = 0) {
  const std::string open = "<" + std::string(name);
  for (std::size_t pos = xml.find(open, from); pos != std::string_view::npos;
       pos = xml.find(open, pos + 1)) {
    const std::size_t after = pos + open.size();
    if (after >= xml.size()) return std::nullopt;
    const char c = xml[after];
    if (c != '>' && c != '/' && c != ' ' && c != '\t' && c != '\n' && c != '\r') continue;
    const std::size_t gt = xml.find('>', after);
    if (gt == std::string_view::npos) return std::nullopt;
    if (xml[gt - 1] == '/') return Element{std::string_view{}, gt + 1};
    const std::string close = "</" + std::string(name) + ">";
    const std::size_t end = xml.find(close, gt + 1);
    if (end == std::string_view::npos) {
      throw std::runtime_error("S3 XML: <" + std::string(name) + "> is not closed");
    }
    return Element{xml.substr(gt + 1, end - gt - 1), end + close.size()};
  }
  return std::nullopt;
}

std::optional<std::string> element_text(std::string_view xml, std::string_view name) {
  auto element = find_element(xml, name);
  if (!element) return std::nullopt;
  return xml_unescape(element->inner);
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace

std::string xml_unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out += text[i];
      continue;
    }
    const std::size_t semi = text.find(';', i);
    if (semi == std::string_view::npos || semi - i > 12) {
      throw std::runtime_error("S3 XML: unterminated entity in \"" + std::string(text) + "\"");
    }
    const std::string_view entity = text.substr(i + 1, semi - i - 1);
    if (entity == "amp") {
      out += '&';
    } else if (entity == "lt") {
      out += '<';
    } else if (entity == "gt") {
      out += '>';
    } else if (entity == "quot") {
      out += '"';
    } else if (entity == "apos") {
      out += '\'';
    } else if (entity.size() > 1 && entity[0] == '#') {
      const bool hex = entity[1] == 'x' || entity[1] == 'X';
      const std::string_view digits = entity.substr(hex ? 2 : 1);
      std::uint32_t cp = 0;
      auto [ptr, ec] =
          std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
      if (ec != std::errc() || ptr != digits.data() + digits.size() || digits.empty() ||
          cp > 0x10FFFF) {
        throw std::runtime_error("S3 XML: bad character reference &" + std::string(entity) + ";");
      }
      append_utf8(out, cp);
    } else {
      throw std::runtime_error("S3 XML: unknown entity &" + std::string(entity) + ";");
    }
    i = semi;
  }
  return out;
}

ListPage parse_list_objects_v2(std::string_view xml) {
  auto root = find_element(xml, "ListBucketResult");
  if (!root) throw std::runtime_error("S3 XML: no <ListBucketResult> in the ListObjectsV2 answer");
  const std::string_view body = root->inner;
  ListPage page;
  std::size_t pos = 0;
  while (auto contents = find_element(body, "Contents", pos)) {
    pos = contents->end;
    ListedObject object;
    auto key = element_text(contents->inner, "Key");
    auto size = element_text(contents->inner, "Size");
    if (!key || !size) throw std::runtime_error("S3 XML: <Contents> without <Key> or <Size>");
    object.key = std::move(*key);
    auto [ptr, ec] = std::from_chars(size->data(), size->data() + size->size(), object.size);
    if (ec != std::errc() || ptr != size->data() + size->size()) {
      throw std::runtime_error("S3 XML: bad <Size> \"" + *size + "\" for key \"" + object.key +
                               "\"");
    }
    std::string etag = element_text(contents->inner, "ETag").value_or("");
    if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
      etag = etag.substr(1, etag.size() - 2);
    }
    object.etag = std::move(etag);
    object.last_modified = element_text(contents->inner, "LastModified").value_or("");
    page.objects.push_back(std::move(object));
  }
  // <IsTruncated> and <NextContinuationToken> are children of <ListBucketResult>; no <Contents>
  // holds elements of those names, so a search of the whole body finds the right ones.
  const std::string truncated = element_text(body, "IsTruncated").value_or("false");
  page.truncated = truncated == "true";
  if (page.truncated) {
    page.next_continuation_token = element_text(body, "NextContinuationToken").value_or("");
    if (page.next_continuation_token.empty()) {
      throw std::runtime_error("S3 XML: truncated listing without <NextContinuationToken>");
    }
  }
  return page;
}

std::optional<S3ErrorBody> parse_s3_error(std::string_view xml) {
  try {
    auto root = find_element(xml, "Error");
    if (!root) return std::nullopt;
    S3ErrorBody error;
    error.code = element_text(root->inner, "Code").value_or("");
    error.message = element_text(root->inner, "Message").value_or("");
    if (error.code.empty() && error.message.empty()) return std::nullopt;
    return error;
  } catch (const std::runtime_error&) {
    return std::nullopt;
  }
}

}  // namespace mh::sync
