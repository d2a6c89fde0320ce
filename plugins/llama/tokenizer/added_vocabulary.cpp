#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/added_vocabulary.hpp"

#include <pcre2.h>

#include <algorithm>

namespace mh::llama {
namespace {

// Decodes the code point that starts at `i` of valid UTF-8 and its length.
char32_t code_point_at(std::string_view s, std::size_t i, std::size_t& length) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  auto cont = [&](std::size_t k) { return char32_t(static_cast<unsigned char>(s[i + k]) & 0x3F); };
  if (b0 < 0x80) {
    length = 1;
    return b0;
  }
  if (b0 < 0xE0) {
    length = 2;
    return (char32_t(b0 & 0x1F) << 6) | cont(1);
  }
  if (b0 < 0xF0) {
    length = 3;
    return (char32_t(b0 & 0x0F) << 12) | (cont(1) << 6) | cont(2);
  }
  length = 4;
  return (char32_t(b0 & 0x07) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3);
}

std::size_t start_of_last_code_point(std::string_view s) {
  std::size_t i = s.size() - 1;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return i;
}

// Unicode White_Space, which tokenizers' `\s` (Rust regex) means.
bool is_white_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

// Rust regex's Unicode `\w`, for single_word tokens.
bool is_word_character(std::string_view one_char) {
  struct Pattern {
    pcre2_code* code = nullptr;
    Pattern() {
      int error = 0;
      PCRE2_SIZE offset = 0;
      constexpr std::string_view kWord = R"(^[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\x{200C}\x{200D}]$)";
      code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(kWord.data()), kWord.size(),
                           PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
    }
    ~Pattern() { pcre2_code_free(code); }
  };
  static const Pattern pattern;
  if (pattern.code == nullptr) return false;
  pcre2_match_data* match = pcre2_match_data_create_from_pattern(pattern.code, nullptr);
  const int rc = pcre2_match(pattern.code, reinterpret_cast<PCRE2_SPTR>(one_char.data()),
                             one_char.size(), 0, PCRE2_NO_UTF_CHECK, match, nullptr);
  pcre2_match_data_free(match);
  return rc > 0;
}

bool ends_with_word(std::string_view s) {
  return !s.empty() && is_word_character(s.substr(start_of_last_code_point(s)));
}

bool starts_with_word(std::string_view s) {
  if (s.empty()) return false;
  std::size_t length = 0;
  code_point_at(s, 0, length);
  return is_word_character(s.substr(0, length));
}

// Where the whitespace at the end of `s` begins.
std::size_t trailing_space_start(std::string_view s) {
  std::size_t end = s.size();
  while (end > 0) {
    const std::size_t start = start_of_last_code_point(s.substr(0, end));
    std::size_t length = 0;
    if (!is_white_space(code_point_at(s, start, length))) break;
    end = start;
  }
  return end;
}

// How many bytes of whitespace `s` starts with.
std::size_t leading_space_length(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t length = 0;
    if (!is_white_space(code_point_at(s, i, length))) break;
    i += length;
  }
  return i;
}

}  // namespace

void AddedVocabulary::Trie::add(const Entry& entry) {
  int node = 0;
  for (unsigned char byte : entry.content) {
    auto& children = nodes[node].children;
    const auto it = std::find_if(children.begin(), children.end(),
                                 [&](const auto& child) { return child.first == byte; });
    if (it != children.end()) {
      node = it->second;
    } else {
      const int next = static_cast<int>(nodes.size());
      nodes[node].children.emplace_back(byte, next);
      nodes.emplace_back();
      node = next;
    }
  }
  // A repeated content keeps its first entry, as tokenizers keeps the first id it assigned.
  if (nodes[node].entry >= 0) return;
  nodes[node].entry = static_cast<int>(entries.size());
  entries.push_back(entry);
  first_byte[static_cast<unsigned char>(entry.content[0])] = true;
}

int AddedVocabulary::Trie::longest_at(std::string_view text, std::size_t pos) const {
  int node = 0;
  int found = -1;
  for (std::size_t i = pos; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const auto& children = nodes[node].children;
    const auto it = std::find_if(children.begin(), children.end(),
                                 [&](const auto& child) { return child.first == byte; });
    if (it == children.end()) break;
    node = it->second;
    if (nodes[node].entry >= 0) found = nodes[node].entry;
  }
  return found;
}

AddedVocabulary::AddedVocabulary(const std::vector<AddedTokenSpec>& tokens) {
  // Leftmost-longest matching depends only on the contents, not on their order.
  for (const AddedTokenSpec& token : tokens) {
    if (token.content.empty()) continue;  // tokenizers ignores empty tokens
    Entry entry{token.content,     token.id,     token.special,
                token.single_word, token.lstrip, token.rstrip};
    (token.normalized ? normalized_ : raw_).add(entry);
  }
}

void AddedVocabulary::find(const Trie& trie, std::string_view text, std::size_t offset,
                           bool parse_special, std::vector<Segment>& out) {
  std::size_t emitted = 0;  // end of what is already in `out`
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (!trie.first_byte[static_cast<unsigned char>(text[pos])]) {
      ++pos;
      continue;
    }
    const int found = trie.longest_at(text, pos);
    if (found < 0) {
      ++pos;
      continue;
    }
    const Entry& entry = trie.entries[found];
    std::size_t start = pos;
    std::size_t stop = pos + entry.content.size();
    // Matching goes on after a refused match, never inside it (Aho-Corasick's
    // non-overlapping search).
    pos = stop;
    if (entry.special && !parse_special) continue;
    if (entry.single_word && ((start > 0 && ends_with_word(text.substr(0, start))) ||
                              (stop < text.size() && starts_with_word(text.substr(stop))))) {
      continue;
    }
    if (entry.lstrip) start = std::max(trailing_space_start(text.substr(0, start)), emitted);
    if (entry.rstrip) stop += leading_space_length(text.substr(stop));
    if (emitted < start) out.push_back({offset + emitted, offset + start, -1});
    out.push_back({offset + start, offset + stop, entry.id});
    emitted = stop;
    pos = std::max(pos, stop);
  }
  if (emitted < text.size()) out.push_back({offset + emitted, offset + text.size(), -1});
}

void AddedVocabulary::split(std::string_view text, bool parse_special,
                            std::vector<Segment>& out) const {
  out.clear();
  if (text.empty()) return;
  if (normalized_.entries.empty()) {
    find(raw_, text, 0, parse_special, out);
    return;
  }
  std::vector<Segment> first;
  find(raw_, text, 0, parse_special, first);
  for (const Segment& segment : first) {
    if (segment.id >= 0) {
      out.push_back(segment);
    } else {
      find(normalized_, text.substr(segment.begin, segment.end - segment.begin), segment.begin,
           parse_special, out);
    }
  }
}

}  // namespace mh::llama
