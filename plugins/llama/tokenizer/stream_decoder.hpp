// Streaming decode that never splits a UTF-8 character.
#pragma once

#include <string>

#include "tokenizer/tokenizer.hpp"

namespace mh::llama {

// Turns ids into text one id at a time, for streaming: push() returns only complete UTF-8
// characters, holding back the bytes of one that is not finished yet, so no piece it returns
// ever splits a character. The pieces, with finish() at the end, concatenate to exactly
// decode(all ids). One StreamDecoder per stream; it is not thread-safe itself, and must not
// outlive its tokenizer.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, bool skip_special_tokens = false);

  // The text that `id` completes (possibly empty). Invalid byte sequences come out as U+FFFD
  // as soon as they are known to be invalid.
  std::string push(TokenId id);
  // Ends the stream: held-back bytes of an unfinished character become U+FFFD.
  std::string finish();
  // Whether bytes are held back waiting for the rest of a character.
  bool has_pending() const { return !pending_.empty(); }

 private:
  const Tokenizer* tokenizer_;
  bool skip_special_tokens_;
  std::string pending_;
};

}  // namespace mh::llama
