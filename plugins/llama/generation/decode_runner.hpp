// Runs one batched decode step of the model over cache slots [0, n). On the CPU it calls the
// model directly. On CUDA it replays a CUDA graph captured per (batch bucket, attention
// length bucket): the step's ~300 kernels are launched as one, and the only host work per
// step is copying the tokens and positions in.
#pragma once

#include "kv_cache.hpp"
#include "llama_model.hpp"

#include <ATen/ATen.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace mh::llama {

class DecodeRunner {
 public:
  // `use_graphs` is honoured on CUDA builds for CUDA models only.
  DecodeRunner(LlamaModel& model, KvCache& cache, bool use_graphs);
  ~DecodeRunner();
  DecodeRunner(const DecodeRunner&) = delete;
  DecodeRunner& operator=(const DecodeRunner&) = delete;

  // tokens[i], positions[i] for slot i in [0, n); returns float32 logits [n, vocab] on the
  // model's device, valid until the next call.
  at::Tensor step(const std::vector<int64_t>& tokens, const std::vector<int64_t>& positions);

  // How many graphs were captured so far (for logs and tests).
  size_t graphs() const;
  // Drops the graphs and their memory pool.
  void release();

 private:
  struct Graphs;  // CUDA-only state

  LlamaModel& model_;
  KvCache& cache_;
  std::unique_ptr<Graphs> graphs_;
};

}  // namespace mh::llama
