// Picks the next token from a row of logits: penalties (repetition, presence, frequency),
// then — when sampling — temperature, top-k, top-p and min-p as transformers' logits
// warpers do, then a draw from the request's own seeded generator, so a seeded request gives
// the same tokens whatever else runs beside it.
#pragma once

#include "sampling_params.hpp"

#include <ATen/ATen.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace mh::llama {

class Sampler {
 public:
  // What pick() gives for a row whose scores are not finite numbers (NaN or infinity, or
  // nothing left to draw from): the scheduler fails that one sequence, never the batch.
  static constexpr int64_t kNoToken = -1;

  Sampler(const SamplingParams& params, at::Device device);

  // True when the pick is a plain argmax of the raw logits (no penalties, no sampling), which
  // the scheduler does for many sequences in one batched op.
  bool plain_greedy() const { return plain_greedy_; }

  // The next token for `logits` [vocab] (float32 on the device) as a 0-dim int64 tensor on
  // the device, or kNoToken when the scores are not usable; no host synchronisation and no
  // throw for bad numbers. `context` is prompt plus output so far; `output_start` is where the
  // output begins in it.
  at::Tensor pick(const at::Tensor& logits, const std::vector<int64_t>& context,
                  size_t output_start);

 private:
  SamplingParams params_;
  at::Device device_;
  bool plain_greedy_;
  std::optional<at::Generator> generator_;
};

// `picks` [n] with kNoToken in each row i whose `logits[i]` holds a value that is not finite:
// raw model scores are finite numbers, so such a row means broken numerics for that sequence.
// On the device, no host synchronisation.
at::Tensor drop_non_finite_rows(const at::Tensor& picks, const at::Tensor& logits);

}  // namespace mh::llama
