// Rotary position embedding tables, computed exactly as Hugging Face transformers does
// (`_compute_default_rope_parameters` and `_compute_llama3_parameters`, all in float32), so
// the plugin's logits match the reference bit for bit where the arithmetic allows.
#pragma once

#include "model_config.hpp"

#include <ATen/ATen.h>

namespace mh::llama {

// The inverse frequencies [head_dim / 2], float32 on the CPU, with the config's scaling (and
// rounded when config.rope_frequency_dtype asks for it).
at::Tensor rope_inverse_frequencies(const ModelConfig& config);

struct RopeTables {
  at::Tensor cos;  // [max_len, head_dim] in the model's dtype
  at::Tensor sin;
};

// cos/sin of position × frequency for positions [0, max_len), computed in float32 and then
// converted to `dtype` on `device` (as transformers casts them to the activations' dtype).
RopeTables make_rope_tables(const ModelConfig& config, int64_t max_len, at::Device device,
                            at::ScalarType dtype);

}  // namespace mh::llama
