// The model's weights, read from a Hugging Face directory (model.safetensors, or the shards
// named by model.safetensors.index.json), checked against the config's shapes and converted
// to the target device and dtype. The projections of one layer that read the same input are
// fused (q|k|v and gate|up), so each is one matrix multiply.
#pragma once

#include "model_config.hpp"

#include <ATen/ATen.h>

#include <filesystem>
#include <vector>

namespace mh::llama {

struct LayerWeights {
  at::Tensor input_norm;  // [hidden]
  at::Tensor qkv;         // [(heads + 2 * kv_heads) * head_dim, hidden]
  at::Tensor o;           // [hidden, heads * head_dim]
  at::Tensor post_norm;   // [hidden]
  at::Tensor gate_up;     // [2 * intermediate, hidden]
  at::Tensor down;        // [hidden, intermediate]
};

struct LlamaWeights {
  at::Tensor embed;    // [vocab, hidden]
  at::Tensor norm;     // [hidden]
  at::Tensor lm_head;  // [vocab, hidden]; the same tensor as embed when tied
  std::vector<LayerWeights> layers;
};

// Throws mh::Error: MH_NOT_FOUND for missing files or tensors, MH_INVALID_ARGUMENT for shape
// mismatches and damaged files.
LlamaWeights load_weights(const std::filesystem::path& dir, const ModelConfig& config,
                          at::Device device, at::ScalarType dtype);

}  // namespace mh::llama
