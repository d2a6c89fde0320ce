#include "request_parsing.hpp"

#include "json_access.hpp"
#include "sampling_limits.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace mh::llama {

namespace bj = boost::json;

namespace {

std::string shown(const bj::value& value) {
  std::string text = bj::serialize(value);
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

[[noreturn]] void bad(std::string_view key, const std::string& expectation, const bj::value& got) {
  throw mh::Error(MH_INVALID_ARGUMENT,
                  std::string(key) + ": must be " + expectation + ", got " + shown(got));
}

[[noreturn]] void bad(std::string_view key, const std::string& problem) {
  throw mh::Error(MH_INVALID_ARGUMENT, std::string(key) + ": " + problem);
}

const bj::value* find(const bj::object& body, std::string_view key) {
  return json::find(body, key);
}

std::optional<double> number(const bj::object& body, std::string_view key) {
  const bj::value* v = find(body, key);
  if (v == nullptr) return std::nullopt;
  if (v->is_double()) {
    if (!std::isfinite(v->get_double())) bad(key, "a finite number", *v);
    return v->get_double();
  }
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  bad(key, "a number", *v);
}

// A number in [low, high], refused with the range as `range` says it and the value as sent.
std::optional<double> number_in(const bj::object& body, std::string_view key, double low,
                                double high, const std::string& range) {
  const std::optional<double> v = number(body, key);
  if (v && !(*v >= low && *v <= high)) bad(key, "in " + range, *find(body, key));
  return v;
}

std::optional<int64_t> integer(const bj::object& body, std::string_view key) {
  const bj::value* v = find(body, key);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) {
    if (v->get_uint64() > static_cast<uint64_t>(INT64_MAX)) bad(key, "an integer in range", *v);
    return static_cast<int64_t>(v->get_uint64());
  }
  if (v->is_double() && std::floor(v->get_double()) == v->get_double() &&
      std::fabs(v->get_double()) < 9.0e15)
    return static_cast<int64_t>(v->get_double());
  bad(key, "an integer", *v);
}

std::optional<bool> boolean(const bj::object& body, std::string_view key) {
  const bj::value* v = find(body, key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_bool()) bad(key, "true or false", *v);
  return v->get_bool();
}

std::vector<int64_t> id_list(const bj::value& value, std::string_view key) {
  std::vector<int64_t> ids;
  for (const bj::value& item : value.get_array()) {
    if (!item.is_int64() && !item.is_uint64()) bad(key, "a list of token ids (integers)", value);
    if (item.is_uint64() && item.get_uint64() > static_cast<uint64_t>(INT64_MAX))
      bad(key, "a list of token ids in range", value);
    ids.push_back(item.to_number<int64_t>());
  }
  return ids;
}

// OpenAI content: a string, null, or a list of parts of which the text parts count.
std::string message_content(const bj::value* content, size_t index) {
  const std::string key = "messages[" + std::to_string(index) + "].content";
  if (content == nullptr || content->is_null()) return {};
  if (content->is_string()) return std::string(content->get_string());
  if (content->is_array()) {
    std::string text;
    for (const bj::value& part : content->get_array()) {
      if (!part.is_object())
        bad(key, "a string or a list of {\"type\": \"text\", \"text\": ...}", *content);
      const bj::object& p = part.get_object();
      const bj::value* type = find(p, "type");
      if (type == nullptr || !type->is_string() || type->get_string() != "text")
        bad(key, "only text parts are supported (\"type\": \"text\")");
      const bj::value* t = find(p, "text");
      if (t == nullptr || !t->is_string()) bad(key, "a text part needs a string \"text\"");
      text += std::string(t->get_string());
    }
    return text;
  }
  bad(key, "a string or a list of text parts", *content);
}

std::vector<ChatMessage> parse_messages(const bj::value& value) {
  if (!value.is_array()) bad("messages", "a list of {\"role\", \"content\"} objects", value);
  if (value.get_array().empty()) bad("messages", "must not be empty");
  std::vector<ChatMessage> messages;
  size_t index = 0;
  for (const bj::value& item : value.get_array()) {
    const std::string key = "messages[" + std::to_string(index) + "]";
    if (!item.is_object()) bad(key, "an object with \"role\" and \"content\"", item);
    const bj::object& m = item.get_object();
    const bj::value* role = find(m, "role");
    if (role == nullptr || !role->is_string() || role->get_string().empty())
      bad(key + ".role", "a non-empty string such as \"user\"", role ? *role : bj::value());
    messages.push_back(
        {std::string(role->get_string()), message_content(find(m, "content"), index)});
    ++index;
  }
  return messages;
}

std::vector<std::string> parse_stop(const bj::object& body) {
  const bj::value* v = find(body, "stop");
  if (v == nullptr) return {};
  if (v->is_string()) {
    if (v->get_string().size() > limits::kMaxStopBytes)
      bad("stop", "a stop string may have at most " + std::to_string(limits::kMaxStopBytes) +
                      " bytes, got one of " + std::to_string(v->get_string().size()));
    return {std::string(v->get_string())};
  }
  if (!v->is_array()) bad("stop", "a string or a list of strings", *v);
  if (v->get_array().size() > limits::kMaxStopStrings)
    bad("stop", "at most " + std::to_string(limits::kMaxStopStrings) + " stop strings, got " +
                    std::to_string(v->get_array().size()));
  std::vector<std::string> stops;
  for (const bj::value& item : v->get_array()) {
    if (!item.is_string()) bad("stop", "a string or a list of strings", *v);
    if (item.get_string().empty()) bad("stop", "stop strings must not be empty");
    stops.emplace_back(item.get_string());
  }
  for (const std::string& stop : stops)
    if (stop.size() > limits::kMaxStopBytes)
      bad("stop", "a stop string may have at most " + std::to_string(limits::kMaxStopBytes) +
                      " bytes, got one of " + std::to_string(stop.size()));
  return stops;
}

void parse_prompt(const bj::value& value, Route route, PromptInput& out) {
  if (value.is_string()) {
    out.text = std::string(value.get_string());
    return;
  }
  if (value.is_array()) {
    const bj::array& items = value.get_array();
    // OpenAI completions also take ["one prompt"] and [[ids]]; one prompt only.
    if (route == Route::kCompletions && items.size() == 1 && items[0].is_string()) {
      out.text = std::string(items[0].get_string());
      return;
    }
    if (route == Route::kCompletions && items.size() == 1 && items[0].is_array()) {
      out.ids = id_list(items[0], "prompt");
      return;
    }
    if (!items.empty() && (items[0].is_string() || items[0].is_array()))
      bad("prompt", "one prompt only (a batch of prompts is not supported; send one request each)");
    out.ids = id_list(value, "prompt");
    if (out.ids->empty()) bad("prompt", "must not be empty");
    return;
  }
  bad("prompt", "a string or a list of token ids", value);
}

}  // namespace

std::optional<Route> parse_route(std::string_view route) {
  if (route == MH_ROUTE_PREDICT) return Route::kPredict;
  if (route == MH_ROUTE_CHAT_COMPLETIONS) return Route::kChatCompletions;
  if (route == MH_ROUTE_COMPLETIONS) return Route::kCompletions;
  if (route == MH_ROUTE_TOKENIZE) return Route::kTokenize;
  if (route == MH_ROUTE_DETOKENIZE) return Route::kDetokenize;
  return std::nullopt;
}

GenerateRequest parse_generate_request(Route route, std::string_view text,
                                       const RequestDefaults& defaults) {
  bj::object body = json::parse_object(text, "request body");
  GenerateRequest req;
  req.route = route;

  // What to generate from.
  const bj::value* prompt = find(body, "prompt");
  const bj::value* messages = find(body, "messages");
  const bj::value* user_prompt = find(body, "user_prompt");
  const int given = (prompt ? 1 : 0) + (messages ? 1 : 0) + (user_prompt ? 1 : 0);
  if (user_prompt && (route == Route::kChatCompletions || route == Route::kCompletions)) {
    bad("user_prompt", "is a key of the predict route only (use \"messages\" or \"prompt\")");
  }
  if (route == Route::kChatCompletions) {
    if (messages == nullptr) bad("messages", "is required");
    if (prompt) bad("prompt", "not allowed in a chat completion (use \"messages\")");
  } else if (route == Route::kCompletions) {
    if (prompt == nullptr) bad("prompt", "is required");
    if (messages) bad("messages", "not allowed in a completion (use \"prompt\")");
  } else if (given != 1) {
    bad("prompt", given == 0 ? "one of \"prompt\", \"messages\" or \"user_prompt\" is required"
                             : "give only one of \"prompt\", \"messages\" and \"user_prompt\"");
  }
  if (messages) req.prompt.messages = parse_messages(*messages);
  if (prompt) parse_prompt(*prompt, route, req.prompt);
  if (user_prompt) {
    if (!user_prompt->is_string()) bad("user_prompt", "a string", *user_prompt);
    std::string text(user_prompt->get_string());
    if (defaults.chat_template) {
      req.prompt.messages = std::vector<ChatMessage>{{"user", std::move(text)}};
    } else {
      req.prompt.text = std::move(text);
    }
    req.answer_field = true;
  }

  if (const bj::value* model = find(body, "model")) {
    if (!model->is_string()) bad("model", "a string", *model);
    req.model = std::string(model->get_string());
  }
  if (auto n = integer(body, "n"); n && *n != 1)
    bad("n", "only 1 is supported, got " + std::to_string(*n));
  if (auto best_of = integer(body, "best_of"); best_of && *best_of != 1)
    bad("best_of", "only 1 is supported, got " + std::to_string(*best_of));
  boolean(body, "stream");  // checked; whether to stream is the host's request flag
  if (const bj::value* options = find(body, "stream_options")) {
    if (!options->is_object()) bad("stream_options", "an object", *options);
    req.include_usage = boolean(options->get_object(), "include_usage").value_or(false);
  }

  // Defaults: the model's generation_config.json says whether it samples by default (its
  // values were range-checked when the model loaded).
  GenerationOptions& o = req.options;
  const GenerationDefaults& g = defaults.generation;
  o.max_new_tokens = g.max_new_tokens.value_or(defaults.max_new_tokens);
  if (defaults.max_new_tokens_limit > 0)  // a default never exceeds the operator's cap
    o.max_new_tokens = std::min(o.max_new_tokens, defaults.max_new_tokens_limit);
  if (g.do_sample) {
    o.sampling.temperature = limits::effective_temperature(g.temperature.value_or(1.0));
    o.sampling.top_k = g.top_k.value_or(0);
    o.sampling.top_p = g.top_p.value_or(1.0);
    o.sampling.min_p = g.min_p.value_or(0.0);
  }
  o.sampling.repetition_penalty = g.repetition_penalty.value_or(1.0);

  // Length: our name first, then OpenAI's two. The manifest's max_new_tokens_limit is a cap
  // the request cannot raise.
  for (std::string_view key : {"max_new_tokens", "max_tokens", "max_completion_tokens"}) {
    if (auto v = integer(body, key)) {
      if (*v <= 0) bad(key, "must be a positive integer, got " + std::to_string(*v));
      if (defaults.max_new_tokens_limit > 0 && *v > defaults.max_new_tokens_limit)
        bad(key, std::to_string(*v) + " is more than this model allows: at most " +
                     std::to_string(defaults.max_new_tokens_limit) +
                     " (max_new_tokens_limit in the model's config)");
      o.max_new_tokens = *v;
      break;
    }
  }
  if (auto v = number_in(body, "temperature", 0.0, limits::kMaxTemperature, "[0, 2]"))
    o.sampling.temperature = limits::effective_temperature(*v);
  if (auto v = integer(body, "top_k")) {
    if (*v < -1) bad("top_k", "must be >= 0 (0 or -1: off), got " + std::to_string(*v));
    o.sampling.top_k = *v < 0 ? 0 : *v;
  }
  if (auto v = number(body, "top_p")) {
    if (!(*v > 0.0 && *v <= 1.0)) bad("top_p", "in (0, 1]", *find(body, "top_p"));
    o.sampling.top_p = *v;
  }
  if (auto v = number_in(body, "min_p", 0.0, 1.0, "[0, 1]")) o.sampling.min_p = *v;
  if (auto v = number_in(body, "repetition_penalty", limits::kMinRepetitionPenalty,
                         limits::kMaxRepetitionPenalty, "[0.01, 100] (1: off)"))
    o.sampling.repetition_penalty = *v;
  for (std::string_view key : {"presence_penalty", "frequency_penalty"}) {
    if (auto v =
            number_in(body, key, -limits::kMaxOpenAiPenalty, limits::kMaxOpenAiPenalty, "[-2, 2]"))
      (key == "presence_penalty" ? o.sampling.presence_penalty : o.sampling.frequency_penalty) = *v;
  }
  if (auto v = integer(body, "seed")) o.sampling.seed = static_cast<uint64_t>(*v);
  o.stop = parse_stop(body);
  o.ignore_eos = boolean(body, "ignore_eos").value_or(false);
  return req;
}

TokenizeRequest parse_tokenize_request(std::string_view text) {
  bj::object body = json::parse_object(text, "request body");
  TokenizeRequest req;
  const bj::value* t = find(body, "text");
  if (t == nullptr) t = find(body, "prompt");
  if (t == nullptr) bad("text", "is required (the text to tokenize)");
  if (!t->is_string()) bad("text", "a string", *t);
  req.text = std::string(t->get_string());
  req.add_special_tokens = boolean(body, "add_special_tokens").value_or(true);
  return req;
}

DetokenizeRequest parse_detokenize_request(std::string_view text) {
  bj::object body = json::parse_object(text, "request body");
  DetokenizeRequest req;
  const bj::value* ids = find(body, "ids");
  if (ids == nullptr) ids = find(body, "tokens");
  if (ids == nullptr) bad("ids", "is required (a list of token ids)");
  if (!ids->is_array()) bad("ids", "a list of token ids", *ids);
  req.ids = id_list(*ids, "ids");
  req.skip_special_tokens = boolean(body, "skip_special_tokens").value_or(false);
  return req;
}

}  // namespace mh::llama
