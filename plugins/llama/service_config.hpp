// The manifest's "config" object for a Llama model, as a plain struct:
//
//   {"device": "auto", "dtype": "bfloat16", "max_batch": 32, "max_seq_len": 4096,
//    "max_new_tokens": 256, "max_new_tokens_limit": 1024, "cuda_graphs": true,
//    "fused_projections": true,
//    "model_dir": "path"}
#pragma once

#include "generation/generation_types.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace mh::llama {

struct ServiceConfig {
  std::string device = "auto";   // cpu, cuda, cuda:N, auto
  std::string dtype = "auto";    // float32, bfloat16, float16, auto
  int64_t max_batch = 0;         // 0: 8 on the CPU, 32 on CUDA
  int64_t max_seq_len = 0;       // 0: min(max_position_embeddings, 2048 CPU / 4096 CUDA)
  int64_t max_new_tokens = 256;  // when a request gives none
  // The most a request may ask for (max_new_tokens, max_tokens, max_completion_tokens): more
  // is a 400 naming the cap. 0 (absent): no cap but the context (max_seq_len).
  int64_t max_new_tokens_limit = 0;
  int64_t prefill_chunk = 512;
  bool cuda_graphs = true;
  bool fused_projections = true;                 // false: transformers' exact matrix multiplies
  std::string rope_frequency_dtype = "float32";  // see ModelConfig
  std::string model_dir;  // where the Hugging Face files are; default: the synced files
};

// Throws mh::Error(MH_INVALID_ARGUMENT) naming the key; unknown keys go to `warn`.
ServiceConfig parse_service_config(std::string_view json_text, const LogFunction& warn);

}  // namespace mh::llama
