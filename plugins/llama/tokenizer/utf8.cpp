#include "tokenizer/utf8.hpp"

#include <cstdint>

namespace mh::llama::utf8 {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the sequence a lead byte starts and the allowed range of its second byte
// (Unicode 15, table 3-7); length 0 for bytes that cannot start a sequence.
struct Lead {
  int length;
  std::uint8_t second_lo;
  std::uint8_t second_hi;
};

constexpr Lead lead_of(std::uint8_t b) {
  if (b < 0x80) return {1, 0, 0};
  if (b >= 0xC2 && b <= 0xDF) return {2, 0x80, 0xBF};
  if (b == 0xE0) return {3, 0xA0, 0xBF};
  if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) return {3, 0x80, 0xBF};
  if (b == 0xED) return {3, 0x80, 0x9F};
  if (b == 0xF0) return {4, 0x90, 0xBF};
  if (b >= 0xF1 && b <= 0xF3) return {4, 0x80, 0xBF};
  if (b == 0xF4) return {4, 0x80, 0x8F};
  return {0, 0, 0};
}

enum class Step { kValid, kInvalid, kTruncated };

// Examines the sequence starting at `i`; `used` is how many bytes it covers: the whole
// sequence when valid, the maximal ill-formed prefix when invalid (at least one byte), the
// available bytes when truncated.
Step examine(std::string_view s, std::size_t i, std::size_t& used) {
  const auto b = static_cast<std::uint8_t>(s[i]);
  const Lead lead = lead_of(b);
  if (lead.length == 1) {
    used = 1;
    return Step::kValid;
  }
  if (lead.length == 0) {
    used = 1;
    return Step::kInvalid;
  }
  for (int k = 1; k < lead.length; ++k) {
    if (i + k >= s.size()) {
      used = static_cast<std::size_t>(k);
      return Step::kTruncated;
    }
    const auto c = static_cast<std::uint8_t>(s[i + k]);
    const std::uint8_t lo = k == 1 ? lead.second_lo : 0x80;
    const std::uint8_t hi = k == 1 ? lead.second_hi : 0xBF;
    if (c < lo || c > hi) {
      used = static_cast<std::size_t>(k);
      return Step::kInvalid;
    }
  }
  used = static_cast<std::size_t>(lead.length);
  return Step::kValid;
}

}  // namespace

std::optional<std::size_t> first_invalid(std::string_view bytes) {
  std::size_t i = 0;
  while (i < bytes.size()) {
    // ASCII runs are the common case: skip them eight at a time.
    while (i + 8 <= bytes.size()) {
      std::uint64_t word;
      __builtin_memcpy(&word, bytes.data() + i, 8);
      if (word & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i >= bytes.size()) break;
    std::size_t used = 0;
    if (examine(bytes, i, used) != Step::kValid) return i;
    i += used;
  }
  return std::nullopt;
}

std::size_t append_lossy(std::string& out, std::string_view bytes, bool final) {
  std::size_t i = 0;
  std::size_t run_start = 0;  // start of the pending run of valid bytes, copied in one go
  while (i < bytes.size()) {
    std::size_t used = 0;
    const Step step = examine(bytes, i, used);
    if (step == Step::kValid) {
      i += used;
      continue;
    }
    out.append(bytes.substr(run_start, i - run_start));
    if (step == Step::kTruncated && !final) return i;
    out.append(kReplacement);
    i += used;
    run_start = i;
  }
  out.append(bytes.substr(run_start, i - run_start));
  return bytes.size();
}

void append_code_point(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace mh::llama::utf8
