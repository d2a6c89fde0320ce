// The Llama 3 chat format, as the tokenizer_config.json template of Llama 3 renders it:
//
//   <|begin_of_text|><|start_header_id|>{role}<|end_header_id|>\n\n{content | trim}<|eot_id|>
//   ... one block per message ...
//   <|start_header_id|>assistant<|end_header_id|>\n\n
//
// It is built as token ids piece by piece rather than rendered and re-parsed, so message
// text can never forge a control token (text such as "<|eot_id|>" stays text).
#pragma once

#include "tokenizer/tokenizer.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace mh::llama {

struct ChatMessage {
  std::string role;
  std::string content;
};

// Throws mh::Error(MH_INVALID_ARGUMENT) when the tokenizer lacks the Llama 3 header tokens.
std::vector<int64_t> format_llama3_chat(const Tokenizer& tokenizer,
                                        const std::vector<ChatMessage>& messages,
                                        bool add_generation_prompt = true);

}  // namespace mh::llama
