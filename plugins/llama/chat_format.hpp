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
#include <filesystem>
#include <string>
#include <string_view>
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

// Whether tokenizer_config.json text declares a chat template: "chat_template" is a non-empty
// string, or a non-empty list of named templates (both forms transformers writes). Text that
// is not a JSON object declares none.
bool declares_chat_template(std::string_view tokenizer_config_json);

// Whether the model in `model_dir` is a chat (instruct) model this format fits: its
// tokenizer_config.json declares a chat template and `tokenizer` has the Llama 3 header tokens.
// Base models (no template) and a missing tokenizer_config.json give false.
bool is_llama3_chat_model(const Tokenizer& tokenizer, const std::filesystem::path& model_dir);

}  // namespace mh::llama
