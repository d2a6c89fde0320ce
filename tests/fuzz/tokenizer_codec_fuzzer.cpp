// Fuzzes encode and decode of the real Llama 3 tokenizer (plugins/llama/tokenizer), loaded once
// from the tokenizer.json of tests/node_modules (or $MH_FUZZ_TOKENIZER_DIR). The first byte picks
// the operation and its options; the rest is the text, or the ids (4 bytes each, little-endian).
// Checked beyond "no crash": encode then decode gives the text back (byte-level BPE loses
// nothing), decode always gives valid UTF-8, and a streaming decode gives the same text in pieces
// that are each valid UTF-8.
#include "tokenizer/stream_decoder.hpp"
#include "tokenizer/tokenizer.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

std::unique_ptr<mh::llama::Tokenizer> tokenizer;

// Well-formed UTF-8 as Unicode defines it (no overlongs, no surrogates, at most U+10FFFF).
bool valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    unsigned lower = 0x80;
    unsigned upper = 0xBF;
    if (byte < 0x80) {
      ++i;
      continue;
    } else if (byte >= 0xC2 && byte <= 0xDF) {
      length = 2;
    } else if (byte >= 0xE0 && byte <= 0xEF) {
      length = 3;
      if (byte == 0xE0) lower = 0xA0;
      if (byte == 0xED) upper = 0x9F;
    } else if (byte >= 0xF0 && byte <= 0xF4) {
      length = 4;
      if (byte == 0xF0) lower = 0x90;
      if (byte == 0xF4) upper = 0x8F;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if (next < (k == 1 ? lower : 0x80) || next > (k == 1 ? upper : 0xBF)) return false;
    }
    i += length;
  }
  return true;
}

[[noreturn]] void fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "tokenizer_codec_fuzzer: %s (%zu bytes)\n", what, detail.size());
  std::abort();
}

void check_decode(std::span<const mh::llama::TokenId> ids, bool skip_special) {
  const std::string text = tokenizer->decode(ids, skip_special);
  if (!valid_utf8(text)) fail("decode gave ill-formed UTF-8", text);
  mh::llama::StreamDecoder stream(*tokenizer, skip_special);
  std::string streamed;
  for (const auto id : ids) {
    const std::string piece = stream.push(id);
    if (!valid_utf8(piece)) fail("a streamed piece is ill-formed UTF-8", piece);
    streamed += piece;
  }
  const std::string last = stream.finish();
  if (!valid_utf8(last)) fail("the stream's last piece is ill-formed UTF-8", last);
  streamed += last;
  if (streamed != text) fail("streamed pieces differ from decode()", streamed);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* dir = std::getenv("MH_FUZZ_TOKENIZER_DIR");
  tokenizer = std::make_unique<mh::llama::Tokenizer>(
      mh::llama::Tokenizer::from_directory(dir != nullptr ? dir : MH_FUZZ_TOKENIZER_DIR));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  const bool parse_special = (selector & 0x02) != 0;
  const bool skip_special = (selector & 0x04) != 0;
  if ((selector & 0x01) == 0) {
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    std::vector<mh::llama::TokenId> ids;
    try {
      ids = tokenizer->encode(text, {.parse_special = parse_special});
    } catch (const std::invalid_argument&) {
      if (valid_utf8(text)) fail("encode refused valid UTF-8", text);
      return 0;
    }
    if (!valid_utf8(text)) fail("encode accepted ill-formed UTF-8", text);
    for (const auto id : ids) {
      if (!tokenizer->contains(id)) fail("encode gave an unknown id", text);
    }
    if (tokenizer->decode(ids) != text) fail("decode(encode(text)) != text", text);
    check_decode(ids, skip_special);
  } else {
    std::vector<mh::llama::TokenId> ids;
    const auto range = static_cast<std::uint32_t>(tokenizer->vocab_size() + 64);
    for (std::size_t i = 1; i + 4 <= size; i += 4) {
      const std::uint32_t raw = static_cast<std::uint32_t>(data[i]) |
                                static_cast<std::uint32_t>(data[i + 1]) << 8 |
                                static_cast<std::uint32_t>(data[i + 2]) << 16 |
                                static_cast<std::uint32_t>(data[i + 3]) << 24;
      // Mostly ids near the vocabulary, sometimes any value (negative ones included).
      ids.push_back(static_cast<mh::llama::TokenId>((selector & 0x08) ? raw : raw % range));
    }
    check_decode(ids, skip_special);
  }
  return 0;
}
