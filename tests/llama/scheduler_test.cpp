// Continuous batching on the tiny fixture model: concurrent requests give the tokens each
// gives alone, seeds reproduce, stop strings and EOS end generation, cancellation stops it.
#include "generation/scheduler.hpp"
#include "llama_test_support.hpp"

#include <modelhost/plugin.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <thread>

namespace mh::llama {
namespace {

using test::ids_of;
using test::RecordingSink;

struct Harness {
  std::mutex log_mutex;
  std::vector<std::string> log_lines;
  std::unique_ptr<Scheduler> scheduler;

  explicit Harness(int64_t max_batch = 4, std::vector<int64_t> eos = {}) {
    SchedulerOptions options;
    options.max_batch = max_batch;
    options.max_len = 512;
    options.prefill_chunk = 16;  // the 33- and 200-token prompts prefill in chunks
    options.eos_token_ids = std::move(eos);
    options.log = [this](mh_log_level, const std::string& line) {
      std::lock_guard lock(log_mutex);
      log_lines.push_back(line);
    };
    scheduler = std::make_unique<Scheduler>(test::tiny_model(), options,
                                            [] { return std::make_unique<test::LetterStream>(); });
  }

  GenerationResult run(const std::vector<int64_t>& prompt, GenerationOptions options) {
    auto sink = std::make_shared<RecordingSink>();
    scheduler->submit("t", prompt, options, sink);
    return sink->wait();
  }
};

GenerationOptions greedy(int64_t n) {
  GenerationOptions o;
  o.max_new_tokens = n;
  return o;
}

std::vector<int64_t> prompt_of(size_t i) {
  return ids_of(test::expected_cases()[i].as_object().at("input_ids"));
}
std::vector<int64_t> greedy24_of(size_t i) {
  return ids_of(test::expected_cases()[i].as_object().at("greedy_24"));
}

TEST_CASE("scheduler.greedy_matches_reference") {
  Harness h;
  for (size_t i = 0; i < 4; ++i) {
    GenerationResult r = h.run(prompt_of(i), greedy(24));
    CAPTURE(i);
    CHECK(r.status == MH_OK);
    CHECK(r.tokens == greedy24_of(i));
    CHECK(r.finish_reason == "length");
    CHECK(r.completion_tokens == 24);
    CHECK(r.prompt_tokens == static_cast<int64_t>(prompt_of(i).size()));
    std::string letters;
    for (int64_t t : r.tokens) letters += test::letter(t);
    CHECK(r.text == letters);
  }
}

TEST_CASE("scheduler.concurrent_requests_match_alone") {
  // Eight requests at once on four slots: batched decode, admission as slots free up.
  Harness h(4);
  std::vector<std::shared_ptr<RecordingSink>> sinks;
  for (size_t k = 0; k < 8; ++k) {
    auto sink = std::make_shared<RecordingSink>();
    h.scheduler->submit("c" + std::to_string(k), prompt_of(k % 4), greedy(24 - 2 * (k % 3)), sink);
    sinks.push_back(sink);
  }
  for (size_t k = 0; k < 8; ++k) {
    GenerationResult r = sinks[k]->wait();
    CAPTURE(k);
    CHECK(r.status == MH_OK);
    std::vector<int64_t> expected = greedy24_of(k % 4);
    expected.resize(static_cast<size_t>(24 - 2 * (k % 3)));
    CHECK(r.tokens == expected);
  }
  CHECK(h.scheduler->tokens_generated() >= 8 * 20);
}

TEST_CASE("scheduler.seeded_sampling_reproducible") {
  Harness h(4);
  GenerationOptions o = greedy(20);
  o.sampling.temperature = 0.9;
  o.sampling.top_k = 50;
  o.sampling.top_p = 0.95;
  o.sampling.min_p = 0.01;
  o.sampling.seed = 1234;
  GenerationResult alone = h.run(prompt_of(1), o);
  // The same seed beside other traffic gives the same tokens.
  std::vector<std::shared_ptr<RecordingSink>> sinks;
  for (int k = 0; k < 3; ++k) {
    auto sink = std::make_shared<RecordingSink>();
    GenerationOptions other = o;
    if (k != 1) other.sampling.seed = 99 + static_cast<uint64_t>(k);
    h.scheduler->submit("s", prompt_of(1), other, sink);
    sinks.push_back(sink);
  }
  CHECK(sinks[1]->wait().tokens == alone.tokens);
  CHECK(sinks[0]->wait().tokens != alone.tokens);
  sinks[2]->wait();
  CHECK(alone.tokens != greedy24_of(1));  // it did sample
  // Penalties change greedy choices.
  GenerationOptions p = greedy(24);
  p.sampling.repetition_penalty = 5.0;
  GenerationResult penalized = h.run(prompt_of(3), p);
  CHECK(penalized.tokens.size() == 24u);
  CHECK(penalized.tokens != greedy24_of(3));
}

TEST_CASE("scheduler.stop_strings_and_eos") {
  const std::vector<int64_t> expected = greedy24_of(0);
  std::string letters;
  for (int64_t t : expected) letters += test::letter(t);
  {
    Harness h;
    GenerationOptions o = greedy(24);
    o.stop = {letters.substr(5, 3)};
    const size_t at = letters.find(o.stop[0]);
    GenerationResult r = h.run(prompt_of(0), o);
    CHECK(r.finish_reason == "stop");
    CHECK(r.text == letters.substr(0, at));
    CHECK(r.tokens.size() == at + 3);  // generation ends with the token completing the stop
  }
  {
    // EOS: the 6th greedy token acts as EOS; it ends generation and is not text.
    Harness h(4, {expected[5]});
    GenerationResult r = h.run(prompt_of(0), greedy(24));
    CHECK(r.finish_reason == "stop");
    CHECK(r.tokens.size() == 6u);
    CHECK(r.text == letters.substr(0, 5));
    GenerationOptions through = greedy(24);
    through.ignore_eos = true;
    CHECK(h.run(prompt_of(0), through).tokens == expected);
  }
}

TEST_CASE("scheduler.cancellation_stops_generation") {
  Harness h(2);
  auto sink = std::make_shared<RecordingSink>(/*cancel_after=*/5);
  h.scheduler->submit("cancel-me", prompt_of(3), greedy(400), sink);
  GenerationResult r = sink->wait();
  CHECK(r.status == MH_CANCELLED);
  CHECK(sink->pieces().size() <= 6u);
  const uint64_t after = h.scheduler->tokens_generated();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(h.scheduler->tokens_generated() == after);
  CHECK(h.scheduler->requests_cancelled() == 1u);
  std::lock_guard lock(h.log_mutex);
  bool logged = false;
  for (const auto& line : h.log_lines)
    logged = logged || line.find("request cancel-me stopped: cancelled") != std::string::npos;
  CHECK(logged);
}

TEST_CASE("scheduler.shutdown_cancels_open_requests") {
  auto h = std::make_unique<Harness>(1);
  auto running = std::make_shared<RecordingSink>(-1, std::chrono::milliseconds(5));
  auto waiting = std::make_shared<RecordingSink>();
  h->scheduler->submit("a", prompt_of(3), greedy(100000), running);
  h->scheduler->submit("b", prompt_of(0), greedy(10), waiting);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  h->scheduler->stop();
  CHECK(running->finished() == 1);
  CHECK(waiting->finished() == 1);
  CHECK(running->wait().status == MH_CANCELLED);
  CHECK(waiting->wait().status == MH_CANCELLED);
  CHECK_THROWS_AS(h->scheduler->submit("c", prompt_of(0), greedy(1), waiting), mh::Error);
}

// Issue 10, finding 3: a temperature that is 0 in float32 (1e-320) made one sequence's scores
// non-finite, the batched step threw, and every sequence in flight failed with it. Now that
// sequence alone fails, with a message that has no libtorch backtrace, and the others run on
// to the tokens they give alone.
TEST_CASE("scheduler.non_finite_scores_fail_only_their_sequence") {
  Harness h(4);
  GenerationOptions poisoned = greedy(24);
  poisoned.sampling.temperature = 1e-320;
  poisoned.sampling.seed = 7;
  auto check_poisoned = [](const GenerationResult& r) {
    CHECK(r.status == MH_INTERNAL);
    CHECK(r.message.find("not finite") != std::string::npos);
    CHECK(r.message.find("Exception raised from") == std::string::npos);
    CHECK(r.message.find("frame #") == std::string::npos);
    CHECK(r.message.find('\n') == std::string::npos);
  };
  {
    // Admitted together, in one round of admission.
    auto bad = std::make_shared<RecordingSink>();
    auto good = std::make_shared<RecordingSink>();
    h.scheduler->submit("bad", prompt_of(1), poisoned, bad);
    h.scheduler->submit("good", prompt_of(2), greedy(24), good);
    check_poisoned(bad->wait());
    GenerationResult r = good->wait();
    CHECK(r.status == MH_OK);
    CHECK(r.tokens == greedy24_of(2));
  }
  {
    // Admitted while others decode: the running sequences are not touched.
    std::vector<std::shared_ptr<RecordingSink>> running;
    for (size_t k = 0; k < 2; ++k) {
      running.push_back(std::make_shared<RecordingSink>(-1, std::chrono::milliseconds(2)));
      h.scheduler->submit("run" + std::to_string(k), prompt_of(k), greedy(24), running.back());
    }
    for (int i = 0; i < 2000 && running[1]->pieces().size() < 3; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    auto bad = std::make_shared<RecordingSink>();
    h.scheduler->submit("bad", prompt_of(3), poisoned, bad);
    check_poisoned(bad->wait());
    for (size_t k = 0; k < 2; ++k) {
      GenerationResult r = running[k]->wait();
      CAPTURE(k);
      CHECK(r.status == MH_OK);
      CHECK(r.tokens == greedy24_of(k));
    }
  }
  std::lock_guard lock(h.log_mutex);
  bool logged = false;
  for (const auto& line : h.log_lines) logged = logged || line.find("request bad") == 0;
  CHECK(logged);
}

TEST_CASE("scheduler.rejects_bad_prompts") {
  Harness h;
  auto sink = std::make_shared<RecordingSink>();
  CHECK_THROWS_WITH_AS(h.scheduler->submit("x", {}, greedy(1), sink),
                       "prompt: is empty (no tokens)", mh::Error);
  CHECK_THROWS_AS(h.scheduler->submit("x", {1, 99999}, greedy(1), sink), mh::Error);
  CHECK_THROWS_AS(h.scheduler->submit("x", std::vector<int64_t>(600, 1), greedy(1), sink),
                  mh::Error);
  // A prompt that nearly fills the context ends with "length" at the context's end.
  GenerationResult r = h.run(std::vector<int64_t>(510, 5), greedy(100));
  CHECK(r.finish_reason == "length");
  CHECK(r.completion_tokens == 2);
}

}  // namespace
}  // namespace mh::llama
