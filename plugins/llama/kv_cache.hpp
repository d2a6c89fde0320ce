// The key/value cache: one fixed pool of `slots` sequences × `max_len` positions per layer,
// allocated once. A sequence owns one slot from admission until it finishes; batched decode
// runs over slots [0, n) so its shapes stay static (CUDA graphs) and its views never copy.
#pragma once

#include "model_config.hpp"

#include <ATen/ATen.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace mh::llama {

class KvCache {
 public:
  KvCache(const ModelConfig& config, int64_t slots, int64_t max_len, at::Device device,
          at::ScalarType dtype);

  int64_t slots() const { return slots_; }
  int64_t max_len() const { return max_len_; }
  // [slots, kv_heads, max_len, head_dim]
  at::Tensor& keys(int64_t layer) { return keys_[static_cast<size_t>(layer)]; }
  at::Tensor& values(int64_t layer) { return values_[static_cast<size_t>(layer)]; }

  // Bytes held by the cache (for logs).
  int64_t bytes() const;
  // Drops the tensors; the cache is unusable afterwards.
  void release();

 private:
  int64_t slots_;
  int64_t max_len_;
  std::vector<at::Tensor> keys_;
  std::vector<at::Tensor> values_;
};

// Hands out the lowest free slot, so active sequences stay packed at the low end and a
// batched decode over [0, highest active + 1) wastes little.
class SlotAllocator {
 public:
  explicit SlotAllocator(int64_t slots) : used_(static_cast<size_t>(slots), false) {}
  std::optional<int64_t> acquire();
  void release(int64_t slot);
  int64_t free_count() const;
  // One past the highest slot in use; 0 when none is.
  int64_t end() const;

 private:
  std::vector<bool> used_;
};

}  // namespace mh::llama
