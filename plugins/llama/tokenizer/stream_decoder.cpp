#include "tokenizer/stream_decoder.hpp"

#include "tokenizer/utf8.hpp"

namespace mh::llama {

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, bool skip_special_tokens)
    : tokenizer_(&tokenizer), skip_special_tokens_(skip_special_tokens) {}

std::string StreamDecoder::push(TokenId id) {
  if (!tokenizer_->contains(id)) return {};
  if (skip_special_tokens_ && tokenizer_->is_special(id)) return {};
  pending_ += tokenizer_->token_bytes(id);
  std::string text;
  const std::size_t consumed = utf8::append_lossy(text, pending_, /*final=*/false);
  pending_.erase(0, consumed);
  return text;
}

std::string StreamDecoder::finish() {
  std::string text;
  utf8::append_lossy(text, pending_, /*final=*/true);
  pending_.clear();
  return text;
}

}  // namespace mh::llama
