#include "tokenizer/oniguruma_pattern.hpp"

namespace mh::llama {
namespace {

// Class items (for use inside brackets). Letters and numbers of Unicode 15.0-16.0 that
// PCRE2 10.42 (Unicode 14) does not know.
constexpr std::string_view kLetters =
    R"(\p{L})"
    R"(\x{1C89}-\x{1C8A}\x{A7CB}-\x{A7CD}\x{A7DA}-\x{A7DC}\x{105C0}-\x{105F3})"
    R"(\x{10D4A}-\x{10D65}\x{10D6F}-\x{10D85}\x{10EC2}-\x{10EC4}\x{1123F}-\x{11240})"
    R"(\x{11380}-\x{11389}\x{1138B}\x{1138E}\x{11390}-\x{113B5}\x{113B7}\x{113D1})"
    R"(\x{113D3}\x{11BC0}-\x{11BE0}\x{11F02}\x{11F04}-\x{11F10}\x{11F12}-\x{11F33})"
    R"(\x{1342F}\x{13441}-\x{13446}\x{13460}-\x{143FA}\x{16100}-\x{1611D})"
    R"(\x{16D40}-\x{16D6C}\x{18CFF}\x{1B132}\x{1B155}\x{1DF25}-\x{1DF2A})"
    R"(\x{1E030}-\x{1E06D}\x{1E4D0}-\x{1E4EB}\x{1E5D0}-\x{1E5ED}\x{1E5F0}\x{2B739})"
    R"(\x{2EBF0}-\x{2EE5D}\x{31350}-\x{323AF})";

constexpr std::string_view kNumbers =
    R"(\p{N})"
    R"(\x{10D40}-\x{10D49}\x{116D0}-\x{116E3}\x{11BF0}-\x{11BF9}\x{11F50}-\x{11F59})"
    R"(\x{16130}-\x{16139}\x{16D70}-\x{16D79}\x{1CCF0}-\x{1CCF9}\x{1D2C0}-\x{1D2D3})"
    R"(\x{1E4F0}-\x{1E4F9}\x{1E5F1}-\x{1E5FA})";

// Unicode White_Space (what Oniguruma's \s is), without U+180E.
constexpr std::string_view kSpaces =
    R"(\t-\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";

// What a `\p` / `\P` escape at `pattern[i]` (the 'p' or 'P') names: the items and whether it
// is negated, with `length` the characters it spans from 'p'. Empty items when not L or N.
std::string_view property_items(std::string_view pattern, std::size_t i, bool& negated,
                                std::size_t& length) {
  negated = pattern[i] == 'P';
  std::string_view name;
  if (i + 1 < pattern.size() && pattern[i + 1] == '{') {
    const std::size_t close = pattern.find('}', i + 2);
    if (close == std::string_view::npos) return {};
    name = pattern.substr(i + 2, close - (i + 2));
    length = close - i + 1;
    if (!name.empty() && name.front() == '^') {
      negated = !negated;
      name.remove_prefix(1);
    }
  } else if (i + 1 < pattern.size()) {
    name = pattern.substr(i + 1, 1);
    length = 2;
  }
  if (name == "L") return kLetters;
  if (name == "N") return kNumbers;
  return {};
}

}  // namespace

std::string translate_oniguruma_pattern(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size() * 4);
  bool in_class = false;
  std::size_t class_start = 0;  // where the items of the current class begin (after [ or [^)
  std::size_t i = 0;
  while (i < pattern.size()) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char e = pattern[i + 1];
      if (e == 'p' || e == 'P') {
        bool negated = false;
        std::size_t length = 0;
        const std::string_view items = property_items(pattern, i + 1, negated, length);
        // A complement cannot be added to a bracket's union; it stays PCRE2's own there.
        if (!items.empty() && !(in_class && negated)) {
          if (in_class) {
            out += items;
          } else {
            out += negated ? "[^" : "[";
            out += items;
            out += "]";
          }
          i += 1 + length;
          continue;
        }
      } else if (e == 's' || (e == 'S' && !in_class)) {
        if (in_class) {
          out += kSpaces;
        } else {
          out += e == 's' ? "[" : "[^";
          out += kSpaces;
          out += "]";
        }
        i += 2;
        continue;
      } else if (e == 'Q') {
        // Quoted text runs to \E verbatim.
        const std::size_t end = pattern.find("\\E", i + 2);
        const std::size_t stop = end == std::string_view::npos ? pattern.size() : end + 2;
        out += pattern.substr(i, stop - i);
        i = stop;
        continue;
      }
      out += pattern.substr(i, 2);
      i += 2;
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      out += c;
      ++i;
      if (i < pattern.size() && pattern[i] == '^') out += pattern[i++];
      class_start = i;
      continue;
    }
    if (in_class) {
      if (c == '[' && i + 1 < pattern.size() && pattern[i + 1] == ':') {
        // A POSIX class such as [:alpha:], copied whole.
        const std::size_t end = pattern.find(":]", i + 2);
        const std::size_t stop = end == std::string_view::npos ? pattern.size() : end + 2;
        out += pattern.substr(i, stop - i);
        i = stop;
        continue;
      }
      // A ']' first in the class is a literal.
      if (c == ']' && i != class_start) in_class = false;
    }
    out += c;
    ++i;
  }
  return out;
}

}  // namespace mh::llama
