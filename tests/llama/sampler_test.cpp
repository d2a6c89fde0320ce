// The sampler on hand-made rows of scores: a row whose scores are not finite numbers (NaN or
// infinity, e.g. from a temperature that is 0 in float32) gives "no token" instead of throwing,
// so the scheduler can fail that one sequence and keep the others of the batch going.
#include "sampler.hpp"

#include <doctest/doctest.h>

#include <limits>
#include <mutex>

namespace mh::llama {
namespace {

at::Tensor row(std::vector<float> values) {
  return at::tensor(values, at::kFloat);
}

int64_t pick(const SamplingParams& params, const at::Tensor& scores) {
  Sampler sampler(params, at::kCPU);
  return sampler.pick(scores, {1, 2}, 1).item<int64_t>();
}

TEST_CASE("sampler.non_finite_scores_give_no_token") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  SamplingParams tiny_temperature;
  tiny_temperature.temperature = 1e-320;  // 0 once the float32 scores are divided by it
  tiny_temperature.seed = 1;
  CHECK(pick(tiny_temperature, row({0.5f, 2.0f, -1.0f, 0.0f})) == Sampler::kNoToken);

  SamplingParams sampling;
  sampling.temperature = 0.8;
  sampling.seed = 1;
  CHECK(pick(sampling, row({0.5f, nan, -1.0f})) == Sampler::kNoToken);
  CHECK(pick(sampling, row({0.5f, inf, -1.0f})) == Sampler::kNoToken);
  // min_p above 1 masks every token: nothing is left to draw from.
  SamplingParams nothing_left = sampling;
  nothing_left.min_p = 2.0;
  CHECK(pick(nothing_left, row({0.5f, 2.0f, -1.0f})) == Sampler::kNoToken);

  SamplingParams penalized;  // greedy, but not a plain argmax
  penalized.repetition_penalty = 1.3;
  CHECK(pick(penalized, row({0.5f, nan, -1.0f})) == Sampler::kNoToken);
  CHECK(pick(penalized, row({0.5f, 3.0f, -1.0f, 0.0f})) == 1);
}

TEST_CASE("sampler.finite_scores_sample_as_before") {
  SamplingParams sampling;
  sampling.temperature = 0.7;
  sampling.top_k = 2;
  sampling.seed = 42;
  const at::Tensor scores = row({0.1f, 4.0f, 3.9f, -2.0f});
  // Only the two best tokens can come out, and a seed gives the same draw each time.
  const int64_t first = pick(sampling, scores);
  CHECK((first == 1 || first == 2));
  for (int i = 0; i < 5; ++i) CHECK(pick(sampling, scores) == first);
  // The draw is multinomial's own (exponential race), so it matches at::multinomial.
  at::Generator gen = at::globalContext().defaultGenerator(at::kCPU).clone();
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_current_seed(42);
  }
  at::Tensor warped = scores / 0.7;
  warped = warped.masked_fill(warped < std::get<0>(warped.topk(2)).narrow(0, 1, 1),
                              -std::numeric_limits<double>::infinity());
  const int64_t reference = at::multinomial(warped.softmax(-1), 1, false, gen).item<int64_t>();
  CHECK(first == reference);
}

}  // namespace
}  // namespace mh::llama
