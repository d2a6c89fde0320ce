// Request bodies: every route's shapes, and bad parameters refused with their names.
#include "request_parsing.hpp"

#include <modelhost/plugin.hpp>

#include <doctest/doctest.h>

namespace mh::llama {
namespace {

std::string error_of(Route route, const std::string& body) {
  try {
    parse_generate_request(route, body, RequestDefaults{});
  } catch (const mh::Error& error) {
    CHECK(error.code() == MH_INVALID_ARGUMENT);
    return error.what();
  }
  return "(no error)";
}

bool names(Route route, const std::string& body, const std::string& key) {
  const std::string message = error_of(route, body);
  CAPTURE(body);
  CAPTURE(message);
  return message.rfind(key + ":", 0) == 0 || message.rfind(key + "[", 0) == 0;
}

TEST_CASE("request.predict_shapes") {
  GenerateRequest r = parse_generate_request(
      Route::kPredict,
      R"({"prompt": "Hi", "max_new_tokens": 12, "temperature": 0.7, "top_k": 40, "top_p": 0.9,
          "min_p": 0.05, "repetition_penalty": 1.1, "seed": 5, "stop": ["\n", "END"],
          "stream": true})",
      RequestDefaults{});
  CHECK(*r.prompt.text == "Hi");
  CHECK(r.options.max_new_tokens == 12);
  CHECK(r.options.sampling.temperature == 0.7);
  CHECK(r.options.sampling.top_k == 40);
  CHECK(r.options.sampling.top_p == 0.9);
  CHECK(r.options.sampling.min_p == 0.05);
  CHECK(r.options.sampling.repetition_penalty == 1.1);
  CHECK(*r.options.sampling.seed == 5u);
  CHECK(r.options.stop == std::vector<std::string>{"\n", "END"});

  GenerateRequest ids = parse_generate_request(Route::kPredict, R"({"prompt": [1, 2, 3]})", {});
  CHECK(*ids.prompt.ids == std::vector<int64_t>{1, 2, 3});
  CHECK(ids.options.max_new_tokens == 256);
  CHECK(ids.options.sampling.temperature == 0.0);

  GenerateRequest practicus =
      parse_generate_request(Route::kPredict, R"({"user_prompt": "Q?"})", {});
  CHECK(*practicus.prompt.text == "Q?");
  CHECK(practicus.answer_field);
  // An instruct model (a chat template): "user_prompt" is one user message.
  RequestDefaults instruct;
  instruct.chat_template = true;
  GenerateRequest chat_practicus =
      parse_generate_request(Route::kPredict, R"({"user_prompt": "Q?"})", instruct);
  CHECK_FALSE(chat_practicus.prompt.text.has_value());
  REQUIRE(chat_practicus.prompt.messages.has_value());
  REQUIRE(chat_practicus.prompt.messages->size() == 1u);
  CHECK((*chat_practicus.prompt.messages)[0].role == "user");
  CHECK((*chat_practicus.prompt.messages)[0].content == "Q?");
  CHECK(chat_practicus.answer_field);
  // "prompt" stays raw text, template or not.
  CHECK(*parse_generate_request(Route::kPredict, R"({"prompt": "Q?"})", instruct).prompt.text ==
        "Q?");

  GenerateRequest chat =
      parse_generate_request(Route::kPredict,
                             R"({"messages": [{"role": "system", "content": "Be brief."},
                       {"role": "user", "content": [{"type": "text", "text": "Hi"}]}]})",
                             {});
  REQUIRE(chat.prompt.messages->size() == 2u);
  CHECK((*chat.prompt.messages)[1].content == "Hi");
}

TEST_CASE("request.openai_shapes") {
  GenerateRequest c = parse_generate_request(
      Route::kChatCompletions,
      R"({"model": "m", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 7,
          "stop": "x", "presence_penalty": 0.5, "frequency_penalty": -0.5, "n": 1,
          "stream": true, "stream_options": {"include_usage": true}})",
      {});
  CHECK(c.model == "m");
  CHECK(c.options.max_new_tokens == 7);
  CHECK(c.options.stop == std::vector<std::string>{"x"});
  CHECK(c.options.sampling.presence_penalty == 0.5);
  CHECK(c.options.sampling.frequency_penalty == -0.5);
  CHECK(c.include_usage);
  GenerateRequest m = parse_generate_request(
      Route::kChatCompletions,
      R"({"messages": [{"role": "user", "content": "Hi"}], "max_completion_tokens": 9})", {});
  CHECK(m.options.max_new_tokens == 9);
  GenerateRequest p = parse_generate_request(Route::kCompletions, R"({"prompt": ["Once"]})", {});
  CHECK(*p.prompt.text == "Once");
}

TEST_CASE("request.bad_parameters_are_named") {
  const auto P = Route::kPredict;
  CHECK(names(P, R"({"prompt": "x", "temperature": -1})", "temperature"));
  CHECK(names(P, R"({"prompt": "x", "temperature": "hot"})", "temperature"));
  CHECK(names(P, R"({"prompt": "x", "top_p": 0})", "top_p"));
  CHECK(names(P, R"({"prompt": "x", "top_p": 1.5})", "top_p"));
  CHECK(names(P, R"({"prompt": "x", "top_k": -3})", "top_k"));
  CHECK(names(P, R"({"prompt": "x", "top_k": 2.5})", "top_k"));
  CHECK(names(P, R"({"prompt": "x", "min_p": 2})", "min_p"));
  CHECK(names(P, R"({"prompt": "x", "repetition_penalty": 0})", "repetition_penalty"));
  CHECK(names(P, R"({"prompt": "x", "max_new_tokens": 0})", "max_new_tokens"));
  CHECK(names(P, R"({"prompt": "x", "max_new_tokens": "ten"})", "max_new_tokens"));
  CHECK(names(P, R"({"prompt": "x", "seed": "abc"})", "seed"));
  CHECK(names(P, R"({"prompt": "x", "stop": 3})", "stop"));
  CHECK(names(P, R"({"prompt": "x", "stop": [""]})", "stop"));
  CHECK(names(P, R"({"prompt": "x", "stream": "yes"})", "stream"));
  CHECK(names(P, R"({"prompt": 5})", "prompt"));
  CHECK(names(P, R"({"prompt": [1, "a"]})", "prompt"));
  CHECK(names(P, R"({"prompt": []})", "prompt"));
  CHECK(names(P, R"({})", "prompt"));
  CHECK(names(P, R"({"prompt": "a", "messages": []})", "prompt"));
  CHECK(names(P, R"({"messages": "hi"})", "messages"));
  CHECK(names(P, R"({"messages": [{"content": "hi"}]})", "messages[0].role"));
  CHECK(names(P, R"({"messages": [{"role": "user", "content": 5}]})", "messages[0].content"));
  CHECK(names(P, R"({"user_prompt": 1})", "user_prompt"));
  const auto C = Route::kChatCompletions;
  CHECK(names(C, R"({"messages": [{"role": "user", "content": "hi"}], "n": 2})", "n"));
  CHECK(names(C, R"({"messages": [{"role": "user", "content": "hi"}], "max_tokens": -1})",
              "max_tokens"));
  CHECK(names(C, R"({"messages": [{"role": "user", "content": "hi"}], "presence_penalty": 3})",
              "presence_penalty"));
  CHECK(names(C, R"({"model": "m"})", "messages"));
  CHECK(names(C, R"({"messages": [{"role": "user", "content": "hi"}], "user_prompt": "x"})",
              "user_prompt"));
  CHECK(names(Route::kCompletions, R"({"prompt": "a", "user_prompt": "x"})", "user_prompt"));
  CHECK(names(C, R"({"messages": [{"role": "user", "content": "hi"}], "stream_options": 1})",
              "stream_options"));
  CHECK(names(Route::kCompletions, R"({"prompt": ["a", "b"]})", "prompt"));
  CHECK(names(Route::kCompletions, R"({"messages": []})", "prompt"));
  CHECK(error_of(P, "{not json").find("not valid JSON") != std::string::npos);
}

// Issue 10, finding 3: every sampling value is checked against a range in which the sampler's
// float32 arithmetic stays finite, and a temperature too small to divide by is greedy.
TEST_CASE("request.sampling_ranges") {
  const auto P = Route::kPredict;
  CHECK(names(P, R"({"prompt": "x", "temperature": 2.5})", "temperature"));
  CHECK(error_of(P, R"({"prompt": "x", "temperature": 2.5})").find("2.5") != std::string::npos);
  CHECK(names(P, R"({"prompt": "x", "repetition_penalty": 1e-300})", "repetition_penalty"));
  CHECK(names(P, R"({"prompt": "x", "repetition_penalty": 1e300})", "repetition_penalty"));
  CHECK(names(P, R"({"prompt": "x", "frequency_penalty": 2.5})", "frequency_penalty"));
  CHECK(names(P, R"({"prompt": "x", "min_p": -0.5})", "min_p"));
  std::string many = R"({"prompt": "x", "stop": [)";
  for (int i = 0; i < 17; ++i) many += std::string(i ? "," : "") + "\"s" + std::to_string(i) + "\"";
  many += "]}";
  CHECK(names(P, many, "stop"));
  CHECK(names(P, R"({"prompt": "x", "stop": ")" + std::string(300, 'a') + "\"}", "stop"));
  CHECK(error_of(P, R"({"prompt": "x", "stop": ")" + std::string(300, 'a') + "\"}").size() < 200u);

  for (const char* tiny : {"1e-320", "1e-9", "0.0009"}) {
    CAPTURE(tiny);
    GenerateRequest r = parse_generate_request(
        P, std::string(R"({"prompt": "x", "temperature": )") + tiny + "}", RequestDefaults{});
    CHECK(r.options.sampling.temperature == 0.0);
  }
  GenerateRequest edge = parse_generate_request(
      P, R"({"prompt": "x", "temperature": 2, "repetition_penalty": 0.01, "top_p": 1,
             "min_p": 1, "presence_penalty": -2, "frequency_penalty": 2, "seed": -1})",
      RequestDefaults{});
  CHECK(edge.options.sampling.temperature == 2.0);
  CHECK(edge.options.sampling.repetition_penalty == 0.01);
  CHECK(*edge.options.sampling.seed == UINT64_MAX);
  // The model's generation_config.json is held to the same rule: a tiny default is greedy.
  RequestDefaults sampled;
  sampled.generation.do_sample = true;
  sampled.generation.temperature = 1e-320;
  CHECK(parse_generate_request(P, R"({"prompt": "x"})", sampled).options.sampling.temperature ==
        0.0);
}

// Issue 10, finding 11: the manifest's max_new_tokens_limit is a cap, whichever of the three
// names the request uses; a default above it is lowered to it.
TEST_CASE("request.max_new_tokens_limit") {
  RequestDefaults capped;
  capped.max_new_tokens = 256;
  capped.max_new_tokens_limit = 100;
  for (const char* key : {"max_new_tokens", "max_tokens", "max_completion_tokens"}) {
    CAPTURE(key);
    const std::string body = std::string(R"({"prompt": "x", ")") + key + R"(": 101})";
    std::string message;
    try {
      parse_generate_request(Route::kCompletions, body, capped);
    } catch (const mh::Error& error) {
      CHECK(error.code() == MH_INVALID_ARGUMENT);
      message = error.what();
    }
    CHECK(message.rfind(std::string(key) + ": 101 ", 0) == 0);
    CHECK(message.find("at most 100 (max_new_tokens_limit") != std::string::npos);
    const std::string at_cap = std::string(R"({"prompt": "x", ")") + key + R"(": 100})";
    CHECK(parse_generate_request(Route::kCompletions, at_cap, capped).options.max_new_tokens ==
          100);
  }
  CHECK(parse_generate_request(Route::kPredict, R"({"prompt": "x"})", capped)
            .options.max_new_tokens == 100);
  RequestDefaults from_model = capped;
  from_model.generation.max_new_tokens = 4096;
  CHECK(parse_generate_request(Route::kPredict, R"({"prompt": "x"})", from_model)
            .options.max_new_tokens == 100);
  // No cap: any positive length (generation still ends at the context).
  CHECK(parse_generate_request(Route::kPredict, R"({"prompt": "x", "max_tokens": 1000000})", {})
            .options.max_new_tokens == 1000000);
}

TEST_CASE("request.tokenize_detokenize") {
  TokenizeRequest t = parse_tokenize_request(R"({"text": "hello", "add_special_tokens": false})");
  CHECK(t.text == "hello");
  CHECK_FALSE(t.add_special_tokens);
  CHECK(parse_tokenize_request(R"({"prompt": "x"})").add_special_tokens);
  CHECK(parse_detokenize_request(R"({"ids": [1, 2]})").ids == std::vector<int64_t>{1, 2});
  CHECK_THROWS_WITH_AS(parse_tokenize_request(R"({"text": 1})"), doctest::Contains("text:"),
                       mh::Error);
  CHECK_THROWS_WITH_AS(parse_detokenize_request(R"({"ids": "1"})"), doctest::Contains("ids:"),
                       mh::Error);
  CHECK(parse_route("chat.completions") == Route::kChatCompletions);
  CHECK_FALSE(parse_route("embeddings").has_value());
}

}  // namespace
}  // namespace mh::llama
