// The Llama 3 network: token embedding, N decoder layers (RMSNorm, grouped-query attention
// with rotary positions, SwiGLU MLP), final RMSNorm and the LM head. The arithmetic follows
// transformers' LlamaForCausalLM op for op (dtype casts included), so float32 results match
// the reference to rounding and bfloat16 results to the reference's own rounding.
#pragma once

#include "kv_cache.hpp"
#include "model_config.hpp"
#include "rope.hpp"
#include "weights.hpp"

#include <ATen/ATen.h>

#include <array>
#include <cstdint>
#include <vector>

namespace mh::llama {

class LlamaModel {
 public:
  // `max_len`: the longest sequence the model will be asked to run (the KV cache's length);
  // the RoPE tables are built that long.
  LlamaModel(ModelConfig config, LlamaWeights weights, int64_t max_len, at::Device device,
             at::ScalarType dtype);

  const ModelConfig& config() const { return config_; }
  at::Device device() const { return device_; }
  at::ScalarType dtype() const { return dtype_; }
  int64_t max_len() const { return max_len_; }

  // Runs `tokens` of one sequence at positions [start, start + T) of cache slot `slot`:
  // writes their keys and values into the cache and attends to the slot's positions
  // [0, start + T). Returns float32 logits: [T, vocab] when `all_logits`, else [vocab] for
  // the last position.
  at::Tensor extend(KvCache& cache, int64_t slot, const std::vector<int64_t>& tokens, int64_t start,
                    bool all_logits = false);

  // One decode step for the slots [0, n): `tokens` and `positions` are int64 tensors [n] on
  // the model's device (a slot that is not in use gets any token at position 0). Every
  // position must be < `attend` ≤ cache.max_len(). Returns float32 logits [n, vocab].
  // Static shapes and no host synchronisation, so a CUDA graph can capture it.
  at::Tensor decode(KvCache& cache, const at::Tensor& tokens, const at::Tensor& positions,
                    int64_t attend);

  // Logits at every position of `tokens` with a fresh cache (the reference path): [T, vocab].
  at::Tensor forward_all(const std::vector<int64_t>& tokens);

  // Drops every tensor (cleanup); the model is unusable afterwards.
  void release();

  // Fused (default): q|k|v and gate|up are one matrix multiply each. Unfused: one per
  // projection, exactly the multiplies transformers makes (same shapes, same cuBLAS kernels).
  void set_fused_projections(bool fused) { fused_ = fused; }
  bool fused_projections() const { return fused_; }

 private:
  at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight) const;
  at::Tensor mlp(const LayerWeights& layer, const at::Tensor& x) const;
  // [rows, hidden] → q [rows, nh*hd], k and v [rows, nkv*hd]
  std::array<at::Tensor, 3> project_qkv(const LayerWeights& layer, const at::Tensor& h) const;
  at::Tensor logits(const at::Tensor& hidden) const;

  ModelConfig config_;
  LlamaWeights weights_;
  RopeTables rope_;
  int64_t max_len_;
  at::Device device_;
  at::ScalarType dtype_;
  bool fused_ = true;
};

// "cpu", "cuda", "cuda:N" or "auto" (CUDA when available). Throws mh::Error naming "device".
at::Device resolve_device(const std::string& name);
// "float32", "bfloat16", "float16" or "auto" (the checkpoint's dtype on CUDA, float32 on the
// CPU, where half precision is slow). Throws mh::Error naming "dtype".
at::ScalarType resolve_dtype(const std::string& name, const ModelConfig& config, at::Device device);

}  // namespace mh::llama
