#include "tokenizer/byte_level.hpp"

#include <array>
#include <cstdint>

#include "tokenizer/utf8.hpp"

namespace mh::llama::byte_level {
namespace {

constexpr bool prints_as_itself(unsigned b) {
  return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

struct Tables {
  std::array<char32_t, 256> char_of{};
  // Indexed by code point; -1 where the code point stands for no byte. The largest code point
  // in the map is U+0143.
  std::array<std::int16_t, 0x144> byte_of{};

  constexpr Tables() {
    unsigned shifted = 0;
    for (unsigned b = 0; b < 256; ++b) {
      char_of[b] = prints_as_itself(b) ? char32_t(b) : char32_t(256 + shifted++);
    }
    for (auto& v : byte_of) v = -1;
    for (unsigned b = 0; b < 256; ++b) byte_of[char_of[b]] = static_cast<std::int16_t>(b);
  }
};

constexpr Tables kTables;

}  // namespace

char32_t char_of_byte(unsigned char byte) {
  return kTables.char_of[byte];
}

std::optional<std::string> to_bytes(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    char32_t cp;
    // Only one- and two-byte sequences can be in the map (U+0000..U+0143).
    if (b0 < 0x80) {
      cp = b0;
      i += 1;
    } else if (b0 >= 0xC2 && b0 <= 0xDF && i + 1 < text.size() &&
               (static_cast<unsigned char>(text[i + 1]) & 0xC0) == 0x80) {
      cp = (char32_t(b0 & 0x1F) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3F);
      i += 2;
    } else {
      return std::nullopt;
    }
    if (cp >= kTables.byte_of.size() || kTables.byte_of[cp] < 0) return std::nullopt;
    out.push_back(static_cast<char>(kTables.byte_of[cp]));
  }
  return out;
}

std::string from_bytes(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) utf8::append_code_point(out, kTables.char_of[b]);
  return out;
}

}  // namespace mh::llama::byte_level
