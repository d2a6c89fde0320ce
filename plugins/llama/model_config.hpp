// The model's shape and hyper-parameters, read from a Hugging Face model directory
// (config.json, generation_config.json).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mh::llama {

// RoPE frequency scaling. "default" leaves the frequencies alone; "llama3" is Llama 3.1's
// band-wise scaling; "linear" divides every frequency by `factor`.
struct RopeScaling {
  std::string type = "default";
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;
};

struct ModelConfig {
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t vocab_size = 0;
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-5;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  // "bfloat16", "float16", "float32" or empty: the dtype the weights were saved in.
  std::string torch_dtype;
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;

  // Not from config.json: the precision the RoPE inverse frequencies are kept in. "float32"
  // is what transformers' from_pretrained and Meta's reference use. "bfloat16" reproduces a
  // model whose buffers were cast with .to(torch.bfloat16) (inv_freq included), as the model
  // behind tests/fixtures/tiny-llama3/expected.json was.
  std::string rope_frequency_dtype = "float32";
};

// Defaults for generation from generation_config.json (all optional).
struct GenerationDefaults {
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;
  bool do_sample = false;
  std::optional<double> temperature;
  std::optional<int64_t> top_k;
  std::optional<double> top_p;
  std::optional<double> min_p;
  std::optional<double> repetition_penalty;
  std::optional<int64_t> max_new_tokens;
};

// Parses config.json text. `where` names the file in error messages. Throws mh::Error
// (MH_INVALID_ARGUMENT) naming the key that is missing or wrong, or the architecture.
ModelConfig parse_model_config(std::string_view json_text, const std::string& where);
GenerationDefaults parse_generation_config(std::string_view json_text, const std::string& where);

// Reads dir/config.json (required: MH_NOT_FOUND when absent).
ModelConfig load_model_config(const std::filesystem::path& dir);
// Reads dir/generation_config.json; defaults when the file is absent.
GenerationDefaults load_generation_config(const std::filesystem::path& dir);

// Reads a whole file; throws mh::Error(MH_NOT_FOUND) naming it when it cannot be read.
std::string read_text_file(const std::filesystem::path& path);

}  // namespace mh::llama
