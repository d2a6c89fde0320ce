#include "response_format.hpp"

#include <boost/json.hpp>

namespace mh::llama {

namespace bj = boost::json;

namespace {

bj::object usage(const GenerationResult& result) {
  return {{"prompt_tokens", result.prompt_tokens},
          {"completion_tokens", result.completion_tokens},
          {"total_tokens", result.prompt_tokens + result.completion_tokens}};
}

bj::object header(const OpenAiIdentity& who, std::string_view object) {
  return {{"id", who.id}, {"object", object}, {"created", who.created}, {"model", who.model}};
}

bj::value reason(std::optional<std::string_view> finish_reason) {
  if (!finish_reason) return nullptr;
  return bj::string(*finish_reason);
}

}  // namespace

std::string predict_response(const GenerationResult& result, bool answer_field) {
  bj::array tokens;
  for (int64_t t : result.tokens) tokens.push_back(t);
  bj::object out{{"text", result.text},
                 {"tokens", std::move(tokens)},
                 {"finish_reason", result.finish_reason},
                 {"usage", usage(result)}};
  if (answer_field) out["answer"] = result.text;
  return bj::serialize(out);
}

std::string predict_chunk(std::string_view text) {
  return bj::serialize(bj::object{{"text", text}});
}

std::string chat_completion(const OpenAiIdentity& who, const GenerationResult& result) {
  bj::object out = header(who, "chat.completion");
  bj::object message{{"role", "assistant"}, {"content", result.text}};
  out["choices"] = bj::array{bj::object{{"index", 0},
                                        {"message", std::move(message)},
                                        {"logprobs", nullptr},
                                        {"finish_reason", result.finish_reason}}};
  out["usage"] = usage(result);
  return bj::serialize(out);
}

std::string text_completion(const OpenAiIdentity& who, const GenerationResult& result) {
  bj::object out = header(who, "text_completion");
  out["choices"] = bj::array{bj::object{{"index", 0},
                                        {"text", result.text},
                                        {"logprobs", nullptr},
                                        {"finish_reason", result.finish_reason}}};
  out["usage"] = usage(result);
  return bj::serialize(out);
}

std::string chat_chunk(const OpenAiIdentity& who, std::optional<std::string_view> role,
                       std::optional<std::string_view> content,
                       std::optional<std::string_view> finish_reason, bool with_usage_null) {
  bj::object out = header(who, "chat.completion.chunk");
  bj::object delta;
  if (role) delta["role"] = *role;
  if (content) delta["content"] = *content;
  out["choices"] = bj::array{bj::object{{"index", 0},
                                        {"delta", std::move(delta)},
                                        {"logprobs", nullptr},
                                        {"finish_reason", reason(finish_reason)}}};
  if (with_usage_null) out["usage"] = nullptr;
  return bj::serialize(out);
}

std::string completion_chunk(const OpenAiIdentity& who, std::string_view text,
                             std::optional<std::string_view> finish_reason, bool with_usage_null) {
  bj::object out = header(who, "text_completion");
  out["choices"] = bj::array{bj::object{{"index", 0},
                                        {"text", text},
                                        {"logprobs", nullptr},
                                        {"finish_reason", reason(finish_reason)}}};
  if (with_usage_null) out["usage"] = nullptr;
  return bj::serialize(out);
}

std::string usage_chunk(const OpenAiIdentity& who, bool chat, const GenerationResult& result) {
  bj::object out = header(who, chat ? "chat.completion.chunk" : "text_completion");
  out["choices"] = bj::array{};
  out["usage"] = usage(result);
  return bj::serialize(out);
}

}  // namespace mh::llama
