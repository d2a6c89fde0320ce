#include "sampler.hpp"

#include <ATen/core/Generator.h>

#include <limits>
#include <map>
#include <mutex>
#include <random>

namespace mh::llama {

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

at::Tensor long_tensor(const std::vector<int64_t>& values, at::Device device) {
  return at::tensor(values, at::kLong).to(device);
}

}  // namespace

Sampler::Sampler(const SamplingParams& params, at::Device device)
    : params_(params), device_(device) {
  const bool penalties = params.repetition_penalty != 1.0 || params.presence_penalty != 0.0 ||
                         params.frequency_penalty != 0.0;
  plain_greedy_ = params.temperature <= 0.0 && !penalties;
  if (params.temperature > 0.0) {
    // A generator of the request's own, on the logits' device, seeded from the request or at
    // random.
    at::Generator gen = at::globalContext().defaultGenerator(device).clone();
    const uint64_t seed = params.seed
                              ? *params.seed
                              : (uint64_t{std::random_device{}()} << 32 | std::random_device{}());
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_current_seed(seed);
    generator_ = gen;
  }
}

at::Tensor Sampler::pick(const at::Tensor& logits_in, const std::vector<int64_t>& context,
                         size_t output_start) {
  at::Tensor logits = logits_in;
  if (params_.repetition_penalty != 1.0 && !context.empty()) {
    // transformers' RepetitionPenaltyLogitsProcessor: divide positive scores by the penalty,
    // multiply negative ones, for every token seen in prompt or output.
    at::Tensor ids = long_tensor(context, device_);
    at::Tensor score = logits.gather(0, ids);
    score = at::where(score < 0, score * params_.repetition_penalty,
                      score / params_.repetition_penalty);
    logits = logits.scatter(0, ids, score);
  }
  if ((params_.presence_penalty != 0.0 || params_.frequency_penalty != 0.0) &&
      output_start < context.size()) {
    // OpenAI's: logit -= count * frequency_penalty + (count > 0) * presence_penalty, over the
    // output so far.
    std::map<int64_t, int64_t> counts;
    for (size_t i = output_start; i < context.size(); ++i) ++counts[context[i]];
    std::vector<int64_t> ids, n;
    for (const auto& [id, count] : counts) {
      ids.push_back(id);
      n.push_back(count);
    }
    at::Tensor idx = long_tensor(ids, device_);
    at::Tensor cnt = long_tensor(n, device_).to(at::kFloat);
    at::Tensor penalty = cnt * params_.frequency_penalty + params_.presence_penalty;
    logits = logits.index_add(0, idx, penalty.neg());
  }
  if (params_.temperature <= 0.0) {
    // Penalties keep finite scores finite; anything else is no score to pick by.
    return logits.argmax(-1).masked_fill(logits.isfinite().all().logical_not(), kNoToken);
  }

  logits = logits / params_.temperature;
  const int64_t vocab = logits.size(0);
  if (params_.top_k > 0 && params_.top_k < vocab) {
    at::Tensor kth = std::get<0>(logits.topk(params_.top_k)).narrow(0, params_.top_k - 1, 1);
    logits = logits.masked_fill(logits < kth, kNegInf);
  }
  if (params_.top_p < 1.0) {
    // transformers' TopPLogitsWarper: drop the smallest tokens whose cumulative probability
    // stays within 1 - top_p, always keeping the most likely one.
    auto [sorted, order] = logits.sort(/*dim=*/-1, /*descending=*/false);
    at::Tensor cumulative = sorted.softmax(-1).cumsum(-1);
    at::Tensor remove = cumulative <= (1.0 - params_.top_p);
    remove.narrow(0, vocab - 1, 1).fill_(false);
    logits = logits.masked_fill(remove.scatter(0, order, remove), kNegInf);
  }
  if (params_.min_p > 0.0) {
    // transformers' MinPLogitsWarper: drop tokens less likely than min_p × the top one.
    at::Tensor probs = logits.softmax(-1);
    at::Tensor threshold = probs.max() * params_.min_p;
    logits = logits.masked_fill(probs < threshold, kNegInf);
  }
  at::Tensor probs = logits.softmax(-1);
  // at::multinomial's own draw of one sample (ATen's path for it: the argmax of probs over
  // Exp(1) noise from the generator, so a seed gives the same tokens as multinomial would),
  // written out because multinomial throws for a row with NaN or infinity — which used to
  // fail every sequence of the batched step — or, on newer CUDA builds, asserts on the device
  // and poisons the context; it also synchronises with the host twice per call to check.
  // Its validity rule, evaluated on the device instead: every probability in [0, inf) and
  // some probability left.
  at::Tensor noise = at::empty_like(probs).exponential_(1, *generator_);
  at::Tensor token = (probs / noise).argmax(-1);
  at::Tensor usable = (probs.max() < std::numeric_limits<float>::infinity()) & (probs.min() >= 0) &
                      (probs.sum() > 0);
  return token.masked_fill(usable.logical_not(), kNoToken);
}

at::Tensor drop_non_finite_rows(const at::Tensor& picks, const at::Tensor& logits) {
  return picks.masked_fill(logits.isfinite().all(-1).logical_not(), Sampler::kNoToken);
}

}  // namespace mh::llama
