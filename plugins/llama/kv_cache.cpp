#include "kv_cache.hpp"

#include <c10/core/InferenceMode.h>

namespace mh::llama {

KvCache::KvCache(const ModelConfig& config, int64_t slots, int64_t max_len, at::Device device,
                 at::ScalarType dtype)
    : slots_(slots), max_len_(max_len) {
  c10::InferenceMode inference;
  const auto options = at::TensorOptions().device(device).dtype(dtype);
  for (int64_t i = 0; i < config.num_layers; ++i) {
    // Zeroed, so positions no sequence wrote hold finite numbers (masked out, but a NaN
    // times a zero weight would still poison the sum).
    keys_.push_back(at::zeros({slots, config.num_kv_heads, max_len, config.head_dim}, options));
    values_.push_back(at::zeros({slots, config.num_kv_heads, max_len, config.head_dim}, options));
  }
}

int64_t KvCache::bytes() const {
  int64_t total = 0;
  for (const auto& t : keys_) total += t.numel() * static_cast<int64_t>(t.element_size());
  for (const auto& t : values_) total += t.numel() * static_cast<int64_t>(t.element_size());
  return total;
}

void KvCache::release() {
  keys_.clear();
  values_.clear();
}

std::optional<int64_t> SlotAllocator::acquire() {
  for (size_t i = 0; i < used_.size(); ++i) {
    if (!used_[i]) {
      used_[i] = true;
      return static_cast<int64_t>(i);
    }
  }
  return std::nullopt;
}

void SlotAllocator::release(int64_t slot) {
  used_.at(static_cast<size_t>(slot)) = false;
}

int64_t SlotAllocator::free_count() const {
  int64_t n = 0;
  for (bool u : used_) n += u ? 0 : 1;
  return n;
}

int64_t SlotAllocator::end() const {
  for (size_t i = used_.size(); i > 0; --i)
    if (used_[i - 1]) return static_cast<int64_t>(i);
  return 0;
}

}  // namespace mh::llama
