// The network against transformers' float32 outputs for the tiny fixture
// (tests/fixtures/tiny-llama3/expected.json), and the cache paths against the full forward.
#include "llama_test_support.hpp"

#include <doctest/doctest.h>

#include <cmath>

namespace mh::llama {
namespace {

using test::expected_cases;
using test::ids_of;
using test::tiny_model;

std::vector<int64_t> argmax_rows(const at::Tensor& logits) {
  at::Tensor a = logits.argmax(-1).contiguous();
  return {a.data_ptr<int64_t>(), a.data_ptr<int64_t>() + a.numel()};
}

// Greedy decoding through the cache: prefill, then one decode step per token.
std::vector<int64_t> greedy(LlamaModel& model, const std::vector<int64_t>& prompt, int steps) {
  KvCache cache(model.config(), 1, 512, model.device(), model.dtype());
  std::vector<int64_t> out;
  at::Tensor logits = model.extend(cache, 0, prompt, 0);
  int64_t position = static_cast<int64_t>(prompt.size());
  for (int i = 0; i < steps; ++i) {
    const int64_t token = logits.argmax(-1).item<int64_t>();
    out.push_back(token);
    if (i + 1 == steps) break;
    at::Tensor t = at::tensor(std::vector<int64_t>{token}, at::kLong);
    at::Tensor p = at::tensor(std::vector<int64_t>{position}, at::kLong);
    logits = model.decode(cache, t, p, position + 1)[0];
    ++position;
  }
  return out;
}

TEST_CASE("model.all_positions_argmax") {
  for (const auto& item : expected_cases()) {
    const auto& c = item.as_object();
    const std::vector<int64_t> ids = ids_of(c.at("input_ids"));
    CAPTURE(ids.size());
    at::Tensor logits = tiny_model().forward_all(ids);
    CHECK(argmax_rows(logits) == ids_of(c.at("all_positions_argmax")));
  }
}

TEST_CASE("model.top20_logits") {
  for (const auto& item : expected_cases()) {
    const auto& c = item.as_object();
    const std::vector<int64_t> ids = ids_of(c.at("input_ids"));
    CAPTURE(ids.size());
    at::Tensor last = tiny_model().forward_all(ids)[static_cast<int64_t>(ids.size()) - 1];
    const auto& top_ids = c.at("last_top20_ids").as_array();
    const auto& top_logits = c.at("last_top20_logits").as_array();
    double worst = 0;
    for (size_t i = 0; i < top_ids.size(); ++i) {
      const double got = last[top_ids[i].to_number<int64_t>()].item<double>();
      worst = std::max(worst, std::fabs(got - top_logits[i].to_number<double>()));
    }
    CHECK(worst < 1e-3);
    auto [values, order] = last.topk(20);
    std::vector<int64_t> ours(order.data_ptr<int64_t>(), order.data_ptr<int64_t>() + 20);
    // The same 20 tokens (ties beyond float32 noise could swap neighbours; none do here).
    CHECK(ours == ids_of(c.at("last_top20_ids")));
    const double sum = last.sum().item<double>();
    const double sumsq = last.pow(2).sum().item<double>();
    CHECK(std::fabs(sum - c.at("last_logits_sum").to_number<double>()) < 0.05);
    CHECK(std::fabs(sumsq - c.at("last_logits_sumsq").to_number<double>()) <
          1e-4 * c.at("last_logits_sumsq").to_number<double>());
  }
}

TEST_CASE("model.greedy_24") {
  for (const auto& item : expected_cases()) {
    const auto& c = item.as_object();
    const std::vector<int64_t> ids = ids_of(c.at("input_ids"));
    CAPTURE(ids.size());
    CHECK(greedy(tiny_model(), ids, 24) == ids_of(c.at("greedy_24")));
  }
}

TEST_CASE("model.kv_cache_decode_equals_full_forward") {
  const std::vector<int64_t> ids = ids_of(expected_cases()[2].as_object().at("input_ids"));
  LlamaModel& model = tiny_model();
  at::Tensor full = model.forward_all(ids);  // [33, vocab]
  KvCache cache(model.config(), 2, 64, model.device(), model.dtype());
  // Prefill 10 tokens in two chunks into slot 1, then decode the rest one at a time.
  model.extend(cache, 1, {ids.begin(), ids.begin() + 4}, 0);
  at::Tensor logits = model.extend(cache, 1, {ids.begin() + 4, ids.begin() + 10}, 4, true);
  CHECK(at::allclose(logits, full.narrow(0, 4, 6), 1e-5, 1e-4));
  for (size_t i = 10; i < ids.size(); ++i) {
    // Slot 0 is idle: it decodes a dummy token at position 0, as the scheduler does.
    at::Tensor t = at::tensor(std::vector<int64_t>{0, ids[i]}, at::kLong);
    at::Tensor p = at::tensor(std::vector<int64_t>{0, static_cast<int64_t>(i)}, at::kLong);
    at::Tensor step = model.decode(cache, t, p, static_cast<int64_t>(i) + 1);
    CAPTURE(i);
    CHECK(at::allclose(step[1], full[static_cast<int64_t>(i)], 1e-5, 1e-4));
  }
}

TEST_CASE("model.batched_decode_equals_single") {
  // Three sequences of different lengths decoded together give each one's own greedy tokens.
  LlamaModel& model = tiny_model();
  auto cases = expected_cases();
  std::vector<std::vector<int64_t>> prompts;
  for (size_t i = 0; i < 3; ++i) prompts.push_back(ids_of(cases[i].as_object().at("input_ids")));
  const int steps = 12;
  KvCache cache(model.config(), 3, 128, model.device(), model.dtype());
  std::vector<int64_t> next(3), position(3);
  std::vector<std::vector<int64_t>> out(3);
  for (int64_t s = 0; s < 3; ++s) {
    next[s] = model.extend(cache, s, prompts[s], 0).argmax(-1).item<int64_t>();
    position[s] = static_cast<int64_t>(prompts[s].size());
    out[s].push_back(next[s]);
  }
  for (int i = 1; i < steps; ++i) {
    const int64_t attend = *std::max_element(position.begin(), position.end()) + 1;
    at::Tensor logits =
        model.decode(cache, at::tensor(next, at::kLong), at::tensor(position, at::kLong), attend);
    for (int64_t s = 0; s < 3; ++s) {
      next[s] = logits[s].argmax(-1).item<int64_t>();
      out[s].push_back(next[s]);
      position[s]++;
    }
  }
  for (int64_t s = 0; s < 3; ++s) {
    CAPTURE(s);
    CHECK(out[s] == greedy(model, prompts[s], steps));
  }
}

}  // namespace
}  // namespace mh::llama
