#include "generation/decode_runner.hpp"

#include <c10/core/InferenceMode.h>

#include <algorithm>

#ifdef MH_LLAMA_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAGraph.h>
#endif

namespace mh::llama {

#ifdef MH_LLAMA_WITH_CUDA
namespace {

int64_t round_up_pow2(int64_t value, int64_t at_least) {
  int64_t out = at_least;
  while (out < value) out *= 2;
  return out;
}

}  // namespace
#endif

#ifdef MH_LLAMA_WITH_CUDA
struct DecodeRunner::Graphs {
  struct Entry {
    at::cuda::CUDAGraph graph;
    at::Tensor logits;  // the graph's output, rewritten by each replay
  };
  at::Tensor tokens;     // [slots] int64, device: the graphs read their inputs from here
  at::Tensor positions;  // [slots] int64, device
  at::Tensor staging;    // [2, slots] int64, pinned host
  std::map<std::pair<int64_t, int64_t>, std::unique_ptr<Entry>> entries;
  std::optional<c10::cuda::MempoolId_t> pool;
};
#else
struct DecodeRunner::Graphs {
  std::map<std::pair<int64_t, int64_t>, int> entries;
};
#endif

DecodeRunner::DecodeRunner(LlamaModel& model, KvCache& cache, bool use_graphs)
    : model_(model), cache_(cache) {
#ifdef MH_LLAMA_WITH_CUDA
  if (use_graphs && model.device().is_cuda()) {
    c10::InferenceMode inference;
    graphs_ = std::make_unique<Graphs>();
    const auto device_long = at::TensorOptions().dtype(at::kLong).device(model.device());
    graphs_->tokens = at::zeros({cache.slots()}, device_long);
    graphs_->positions = at::zeros({cache.slots()}, device_long);
    graphs_->staging =
        at::zeros({2, cache.slots()}, at::TensorOptions().dtype(at::kLong).pinned_memory(true));
  }
#else
  (void)use_graphs;
#endif
}

DecodeRunner::~DecodeRunner() = default;

size_t DecodeRunner::graphs() const {
  return graphs_ ? graphs_->entries.size() : 0;
}

void DecodeRunner::release() {
  graphs_.reset();
}

at::Tensor DecodeRunner::step(const std::vector<int64_t>& tokens,
                              const std::vector<int64_t>& positions) {
  c10::InferenceMode inference;
  const int64_t longest = *std::max_element(positions.begin(), positions.end()) + 1;
  bool eager = !graphs_;
#ifdef MH_LLAMA_WITH_CUDA
  // The legacy default stream cannot be captured: a caller that did not set a stream of its
  // own gets the eager path.
  if (!eager && at::cuda::getCurrentCUDAStream() == at::cuda::getDefaultCUDAStream()) eager = true;
#endif
  if (eager) {
    at::Tensor t = at::tensor(tokens, at::kLong).to(model_.device());
    at::Tensor p = at::tensor(positions, at::kLong).to(model_.device());
    return model_.decode(cache_, t, p, longest);
  }
#ifdef MH_LLAMA_WITH_CUDA
  const int64_t n = static_cast<int64_t>(tokens.size());
  // Buckets: batch 1, 2, 4, 8, 16, ... (capped at the slot count); attention length 256,
  // 512, 1024, ... (capped at the cache length). Padding rows decode token 0 at position 0
  // of a slot no sequence uses; their logits are ignored.
  const int64_t batch = std::min(round_up_pow2(n, 1), cache_.slots());
  const int64_t attend = std::min(round_up_pow2(longest, 256), cache_.max_len());
  Graphs& g = *graphs_;
  auto staged = g.staging.accessor<int64_t, 2>();
  for (int64_t i = 0; i < batch; ++i) {
    staged[0][i] = i < n ? tokens[static_cast<size_t>(i)] : 0;
    staged[1][i] = i < n ? positions[static_cast<size_t>(i)] : 0;
  }
  // Pinned → device, asynchronous on the current stream; the staging buffer is not written
  // again before the caller has read this step's results back (a synchronisation).
  g.tokens.narrow(0, 0, batch).copy_(g.staging.select(0, 0).narrow(0, 0, batch), true);
  g.positions.narrow(0, 0, batch).copy_(g.staging.select(0, 1).narrow(0, 0, batch), true);

  auto key = std::make_pair(batch, attend);
  auto it = g.entries.find(key);
  if (it == g.entries.end()) {
    auto entry = std::make_unique<Graphs::Entry>();
    at::Tensor in_tokens = g.tokens.narrow(0, 0, batch);
    at::Tensor in_positions = g.positions.narrow(0, 0, batch);
    // Warm up outside the capture (lazy cuBLAS and kernel setup), then capture on the
    // current stream, which is the model's own (DeviceStream); only this thread's work is
    // captured, so other models in the process may keep using the GPU meanwhile.
    model_.decode(cache_, in_tokens, in_positions, attend);
    entry->graph.capture_begin(g.pool ? *g.pool : c10::cuda::MempoolId_t{0, 0},
                               cudaStreamCaptureModeThreadLocal);
    entry->logits = model_.decode(cache_, in_tokens, in_positions, attend);
    entry->graph.capture_end();
    if (!g.pool) g.pool = entry->graph.pool();
    it = g.entries.emplace(key, std::move(entry)).first;
  }
  it->second->graph.replay();
  return it->second->logits.narrow(0, 0, n);
#else
  return {};
#endif
}

}  // namespace mh::llama
