// config.json in both RoPE forms, the llama3 frequencies, and errors that name the key;
// generation_config.json's ranges and the manifest config's max_new_tokens_limit.
#include "model_config.hpp"
#include "rope.hpp"
#include "service_config.hpp"

#include <modelhost/plugin.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <string>

namespace mh::llama {
namespace {

const char* kClassic = R"({
  "architectures": ["LlamaForCausalLM"], "hidden_size": 2048, "intermediate_size": 8192,
  "num_hidden_layers": 16, "num_attention_heads": 32, "num_key_value_heads": 8,
  "head_dim": 64, "vocab_size": 128256, "max_position_embeddings": 131072,
  "rms_norm_eps": 1e-05, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
  "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009],
  "rope_theta": 500000.0,
  "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"}})";

// transformers 5 writes rope_parameters (theta inside) and "dtype".
const char* kParameters = R"({
  "architectures": ["LlamaForCausalLM"], "hidden_size": 2048, "intermediate_size": 8192,
  "num_hidden_layers": 16, "num_attention_heads": 32, "num_key_value_heads": 8,
  "vocab_size": 128256, "max_position_embeddings": 131072, "rms_norm_eps": 1e-05,
  "tie_word_embeddings": true, "dtype": "bfloat16", "eos_token_id": 128001,
  "rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 32.0,
                      "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                      "original_max_position_embeddings": 8192}})";

std::string error_of(const std::string& json) {
  try {
    parse_model_config(json, "config.json");
  } catch (const mh::Error& error) {
    return error.what();
  }
  return "";
}

TEST_CASE("config.rope_forms_agree") {
  const ModelConfig a = parse_model_config(kClassic, "config.json");
  const ModelConfig b = parse_model_config(kParameters, "config.json");
  for (const ModelConfig* c : {&a, &b}) {
    CHECK(c->hidden_size == 2048);
    CHECK(c->num_layers == 16);
    CHECK(c->num_heads == 32);
    CHECK(c->num_kv_heads == 8);
    CHECK(c->head_dim == 64);
    CHECK(c->tie_word_embeddings);
    CHECK(c->torch_dtype == "bfloat16");
    CHECK(c->rope_theta == 500000.0);
    CHECK(c->rope_scaling.type == "llama3");
    CHECK(c->rope_scaling.factor == 32.0);
    CHECK(c->rope_scaling.original_max_position_embeddings == 8192);
  }
  CHECK(a.eos_token_ids == std::vector<int64_t>{128001, 128008, 128009});
  CHECK(b.eos_token_ids == std::vector<int64_t>{128001});
  CHECK(at::equal(rope_inverse_frequencies(a), rope_inverse_frequencies(b)));
}

TEST_CASE("config.llama3_inverse_frequencies") {
  // The three bands of _compute_llama3_parameters: high frequencies kept, low ones divided
  // by the factor, the middle interpolated.
  ModelConfig c = parse_model_config(kClassic, "config.json");
  at::Tensor f = rope_inverse_frequencies(c);
  // Frequencies kept as a model cast to bfloat16 keeps them.
  c.rope_frequency_dtype = "bfloat16";
  at::Tensor rounded = rope_inverse_frequencies(c);
  CHECK(at::equal(rounded, rounded.to(at::kBFloat16).to(at::kFloat)));
  CHECK_FALSE(at::equal(f, rounded));
  CHECK(at::allclose(f, rounded, 1e-2, 0));
  REQUIRE(f.numel() == 32);
  const double two_pi = 2 * M_PI;
  for (int64_t i = 0; i < 32; ++i) {
    const double base = 1.0 / std::pow(500000.0, (2.0 * i) / 64.0);
    const double wavelen = two_pi / base;
    const double got = f[i].item<double>();
    CAPTURE(i);
    if (wavelen < 8192.0 / 4.0) {
      CHECK(got == doctest::Approx(base).epsilon(1e-6));
    } else if (wavelen > 8192.0 / 1.0) {
      CHECK(got == doctest::Approx(base / 32.0).epsilon(1e-6));
    } else {
      const double smooth = (8192.0 / wavelen - 1.0) / (4.0 - 1.0);
      CHECK(got == doctest::Approx((1 - smooth) * base / 32.0 + smooth * base).epsilon(1e-5));
    }
  }
}

TEST_CASE("config.defaults_and_head_dim") {
  const ModelConfig c = parse_model_config(
      R"({"model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
          "num_hidden_layers": 1, "num_attention_heads": 4, "vocab_size": 100})",
      "config.json");
  CHECK(c.head_dim == 16);
  CHECK(c.num_kv_heads == 4);
  CHECK(c.rope_scaling.type == "default");
  CHECK_FALSE(c.tie_word_embeddings);
}

TEST_CASE("config.errors_name_the_key") {
  const std::string base = R"("hidden_size": 64, "intermediate_size": 128,
      "num_hidden_layers": 1, "num_attention_heads": 4, "vocab_size": 100)";
  CHECK(error_of(R"({"architectures": ["MistralForCausalLM"], )" + base + "}")
            .find("unsupported architecture \"MistralForCausalLM\"") != std::string::npos);
  CHECK(error_of(R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 64})")
            .find("\"intermediate_size\" is missing") != std::string::npos);
  CHECK(error_of(R"({"model_type": "llama", "hidden_size": "big", "intermediate_size": 1,
                     "num_hidden_layers": 1, "num_attention_heads": 1, "vocab_size": 1})")
            .find("\"hidden_size\" must be an integer") != std::string::npos);
  CHECK(error_of(R"({"model_type": "llama", "num_key_value_heads": 3, )" + base + "}")
            .find("num_key_value_heads") != std::string::npos);
  CHECK(error_of(R"({"model_type": "llama", "rope_scaling": {"rope_type": "yarn", "factor": 4},)" +
                 base + "}")
            .find("rope_type \"yarn\" is not supported") != std::string::npos);
  CHECK(
      error_of(R"({"model_type": "llama", "rope_scaling": {"rope_type": "llama3", "factor": 8},)" +
               base + "}")
          .find("\"low_freq_factor\" is missing") != std::string::npos);
  CHECK(error_of("not json").find("not valid JSON") != std::string::npos);
}

// generation_config.json is a model file, untrusted like a request: its sampling defaults are
// held to ranges in which sampling stays finite, and a bad one fails the load naming the key.
TEST_CASE("config.generation_defaults_in_range") {
  auto generation_error = [](const std::string& text) -> std::string {
    try {
      parse_generation_config(text, "generation_config.json");
    } catch (const mh::Error& error) {
      CHECK(error.code() == MH_INVALID_ARGUMENT);
      return error.what();
    }
    return "(no error)";
  };
  CHECK(generation_error(R"({"temperature": -1})").find("\"temperature\"") != std::string::npos);
  CHECK(generation_error(R"({"temperature": 1e999})").find("temperature") != std::string::npos);
  CHECK(generation_error(R"({"top_p": 0})").find("\"top_p\"") != std::string::npos);
  CHECK(generation_error(R"({"min_p": 3})").find("\"min_p\"") != std::string::npos);
  CHECK(generation_error(R"({"repetition_penalty": 1e-30})").find("repetition_penalty") !=
        std::string::npos);
  CHECK(generation_error(R"({"top_k": -5})").find("\"top_k\"") != std::string::npos);
  CHECK(generation_error(R"({"max_new_tokens": 0})").find("max_new_tokens") != std::string::npos);
  // Found by fuzz.model_config: an id above INT64_MAX threw Boost's own error, naming a header.
  CHECK(generation_error(R"({"eos_token_id": [12800777777777777709]})").find("\"eos_token_id\"") !=
        std::string::npos);
  const GenerationDefaults ok = parse_generation_config(
      R"({"do_sample": true, "temperature": 0.6, "top_p": 0.9, "top_k": -1,
          "repetition_penalty": 1.1, "max_new_tokens": 64})",
      "generation_config.json");
  CHECK(*ok.temperature == 0.6);
  CHECK(*ok.max_new_tokens == 64);
}

TEST_CASE("config.max_new_tokens_limit") {
  ServiceConfig unset = parse_service_config("{}", nullptr);
  CHECK(unset.max_new_tokens_limit == 0);
  ServiceConfig set =
      parse_service_config(R"({"max_new_tokens": 100, "max_new_tokens_limit": 512})", nullptr);
  CHECK(set.max_new_tokens_limit == 512);
  CHECK_THROWS_WITH_AS(parse_service_config(R"({"max_new_tokens_limit": 0})", nullptr),
                       doctest::Contains("\"max_new_tokens_limit\" must be a positive integer"),
                       mh::Error);
  CHECK_THROWS_WITH_AS(
      parse_service_config(R"({"max_new_tokens": 600, "max_new_tokens_limit": 512})", nullptr),
      doctest::Contains("must not exceed \"max_new_tokens_limit\" (512)"), mh::Error);
}

TEST_CASE("config.missing_file") {
  try {
    load_model_config("/nonexistent-dir");
    FAIL("no error");
  } catch (const mh::Error& error) {
    CHECK(error.code() == MH_NOT_FOUND);
    CHECK(std::string(error.what()).find("config.json is missing") != std::string::npos);
  }
}

}  // namespace
}  // namespace mh::llama
