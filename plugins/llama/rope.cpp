#include "rope.hpp"

#include <cmath>

namespace mh::llama {

namespace {

at::Tensor llama3_inverse_frequencies(const ModelConfig& config, at::Tensor inv_freq);

// transformers keeps inv_freq in a float32 buffer, which module.to(dtype) casts like any
// other: a model cast to bfloat16 and back runs with rounded frequencies (see
// ModelConfig::rope_frequency_dtype).
at::Tensor stored_as(const ModelConfig& config, at::Tensor inv_freq) {
  if (config.rope_frequency_dtype == "bfloat16") return inv_freq.to(at::kBFloat16).to(at::kFloat);
  if (config.rope_frequency_dtype == "float16") return inv_freq.to(at::kHalf).to(at::kFloat);
  return inv_freq;
}

}  // namespace

at::Tensor rope_inverse_frequencies(const ModelConfig& config) {
  const int64_t dim = config.head_dim;
  // inv_freq = 1.0 / (base ** (arange(0, dim, 2).float() / dim))
  at::Tensor exponent = at::arange(0, dim, 2, at::kLong).to(at::kFloat) / static_cast<double>(dim);
  at::Tensor inv_freq = at::pow(config.rope_theta, exponent).reciprocal();
  const RopeScaling& s = config.rope_scaling;
  if (s.type == "linear") inv_freq = inv_freq / s.factor;
  if (s.type == "llama3") inv_freq = llama3_inverse_frequencies(config, inv_freq);
  return stored_as(config, inv_freq);
}

namespace {

at::Tensor llama3_inverse_frequencies(const ModelConfig& config, at::Tensor inv_freq) {
  const RopeScaling& s = config.rope_scaling;

  const double old_context = static_cast<double>(s.original_max_position_embeddings);
  const double low_freq_wavelen = old_context / s.low_freq_factor;
  const double high_freq_wavelen = old_context / s.high_freq_factor;
  // wavelen = 2 * pi / inv_freq. Python evaluates `scalar / tensor` as
  // `tensor.reciprocal() * scalar`; so does this, to round the same way.
  at::Tensor wavelen = inv_freq.reciprocal() * (2.0 * M_PI);
  // wavelen > low_freq_wavelen: divide by factor; wavelen < high_freq_wavelen: keep
  at::Tensor inv_freq_llama = at::where(wavelen > low_freq_wavelen, inv_freq / s.factor, inv_freq);
  // otherwise interpolate between the two with a smooth factor
  at::Tensor smooth = (wavelen.reciprocal() * old_context - s.low_freq_factor) /
                      (s.high_freq_factor - s.low_freq_factor);
  at::Tensor smoothed = (1.0 - smooth) * inv_freq_llama / s.factor + smooth * inv_freq_llama;
  at::Tensor is_medium = at::logical_and(at::logical_not(wavelen < high_freq_wavelen),
                                         at::logical_not(wavelen > low_freq_wavelen));
  return at::where(is_medium, smoothed, inv_freq_llama);
}

}  // namespace

RopeTables make_rope_tables(const ModelConfig& config, int64_t max_len, at::Device device,
                            at::ScalarType dtype) {
  // On the model's device, as transformers computes them in each forward: the same cos/sin
  // kernels give the same roundings.
  at::Tensor inv_freq = rope_inverse_frequencies(config).to(device);
  at::Tensor positions =
      at::arange(max_len, at::TensorOptions().dtype(at::kLong).device(device)).to(at::kFloat);
  // freqs[p, i] = p * inv_freq[i] (one float32 product, as transformers' matmul with K = 1)
  at::Tensor freqs = positions.unsqueeze(1) * inv_freq.unsqueeze(0);
  at::Tensor emb = at::cat({freqs, freqs}, -1);
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

}  // namespace mh::llama
