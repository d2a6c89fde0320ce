// Request bodies to plain structs, at the edge: every route's JSON is read and checked here,
// and a bad parameter fails with MH_INVALID_ARGUMENT and the parameter's name
// ("temperature: must be a number >= 0, got \"hot\""). Nothing past this file sees JSON.
#pragma once

#include "chat_format.hpp"
#include "generation/generation_types.hpp"
#include "model_config.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mh::llama {

// The routes the plugin serves. Its counters are not a route: they are the plugin's
// mh.plugin.stats/1 extension (llama_plugin.cpp).
enum class Route { kPredict, kChatCompletions, kCompletions, kTokenize, kDetokenize };

// The route string of the ABI (MH_ROUTE_PREDICT, ...); nullopt when unknown.
std::optional<Route> parse_route(std::string_view route);

// What to generate from: exactly one of these is set.
struct PromptInput {
  std::optional<std::string> text;
  std::optional<std::vector<int64_t>> ids;
  std::optional<std::vector<ChatMessage>> messages;
};

struct GenerateRequest {
  Route route = Route::kPredict;
  PromptInput prompt;
  GenerationOptions options;
  bool include_usage = false;  // OpenAI stream_options.include_usage
  bool answer_field = false;   // the body used Practicus' "user_prompt": reply with "answer"
  std::string model;           // OpenAI "model", echoed in the reply
};

// Defaults that come from the model's files and the manifest.
struct RequestDefaults {
  int64_t max_new_tokens = 256;
  // The manifest's config.max_new_tokens_limit: a request asking for more is refused (400
  // naming the key, the value and the cap); a default above it is lowered to it. 0: no cap
  // (generation still ends when prompt plus output fill the context).
  int64_t max_new_tokens_limit = 0;
  GenerationDefaults generation;  // generation_config.json
  // The model is a chat (instruct) model: its tokenizer_config.json has a chat template and
  // its tokenizer the Llama 3 header tokens. Then a predict body's "user_prompt" is one user
  // message in the Llama 3 chat format, as an instruct model expects; otherwise plain text.
  bool chat_template = false;
};

// For predict, chat.completions and completions. Every sampling value is held to its range
// (sampling_limits.hpp); a positive temperature below 1e-3 is greedy. Predict takes exactly one of
// "prompt" (text or token ids, used as they are), "messages" (the Llama 3 chat format) and
// "user_prompt" (Practicus' shape: a user message, see RequestDefaults::chat_template; the reply
// has "answer").
GenerateRequest parse_generate_request(Route route, std::string_view body,
                                       const RequestDefaults& defaults);

struct TokenizeRequest {
  std::string text;
  bool add_special_tokens = true;  // prepend <|begin_of_text|>
};
TokenizeRequest parse_tokenize_request(std::string_view body);

struct DetokenizeRequest {
  std::vector<int64_t> ids;
  bool skip_special_tokens = false;
};
DetokenizeRequest parse_detokenize_request(std::string_view body);

}  // namespace mh::llama
