// Fuzzes loading a tokenizer (plugins/llama/tokenizer): tokenizer.json and tokenizer_config.json
// are untrusted files of a model directory. An input is tokenizer.json, optionally followed by a
// NUL byte and tokenizer_config.json. Loading either succeeds or throws TokenizerError; a
// tokenizer that loaded must then encode and decode a fixed text without crashing.
#include "tokenizer/tokenizer.hpp"

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t nul = input.find('\0');
  const std::string_view tokenizer_json = input.substr(0, nul);
  const std::string_view tokenizer_config =
      nul == std::string_view::npos ? std::string_view{} : input.substr(nul + 1);
  try {
    const auto tokenizer = mh::llama::Tokenizer::from_json(tokenizer_json, tokenizer_config);
    for (bool special : {false, true}) {
      const auto ids = tokenizer.encode(
          "Hello, world! <|eot_id|> 123 caf\xc3\xa9\n\n",
          {.parse_special = special, .add_special_tokens = special, .add_bos = special});
      (void)tokenizer.decode(ids, special);
    }
    (void)tokenizer.vocab_size();
  } catch (const mh::llama::TokenizerError&) {
  }
  return 0;
}
