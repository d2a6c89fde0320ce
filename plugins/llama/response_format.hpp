// Replies as JSON text: the predict route's own shape and OpenAI's chat.completion /
// text_completion objects and their stream chunks. The host adds nothing to these (it frames
// chunks as SSE and appends `data: [DONE]` on OpenAI routes).
#pragma once

#include "generation/generation_types.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mh::llama {

// {"text", "tokens", "finish_reason", "usage": {...}} (+ "answer" for Practicus' shape)
std::string predict_response(const GenerationResult& result, bool answer_field);
// {"text": piece}
std::string predict_chunk(std::string_view text);

// The fields every OpenAI object of one reply shares.
struct OpenAiIdentity {
  std::string id;       // "chatcmpl-..." or "cmpl-..."
  int64_t created = 0;  // Unix seconds
  std::string model;
};

std::string chat_completion(const OpenAiIdentity& who, const GenerationResult& result);
std::string text_completion(const OpenAiIdentity& who, const GenerationResult& result);

// One chat.completion.chunk: `role` set in the first, `content` in text pieces,
// `finish_reason` in the last. `with_usage_null` adds "usage": null (include_usage streams).
std::string chat_chunk(const OpenAiIdentity& who, std::optional<std::string_view> role,
                       std::optional<std::string_view> content,
                       std::optional<std::string_view> finish_reason, bool with_usage_null);
// One text_completion chunk.
std::string completion_chunk(const OpenAiIdentity& who, std::string_view text,
                             std::optional<std::string_view> finish_reason, bool with_usage_null);
// The last chunk of an include_usage stream: "choices": [] and the usage.
std::string usage_chunk(const OpenAiIdentity& who, bool chat, const GenerationResult& result);

}  // namespace mh::llama
