#include "generation/scheduler.hpp"

#include "exception_message.hpp"
#include "sampler.hpp"

#include <c10/core/InferenceMode.h>

#include <modelhost/plugin.hpp>

#include <algorithm>
#include <exception>
#include <unordered_set>

namespace mh::llama {

namespace {

constexpr const char* kNotFinite =
    "generation failed: the next-token scores for this request are not finite numbers (NaN or "
    "infinity)";

}  // namespace

struct Scheduler::Sequence {
  std::string id;
  std::vector<int64_t> context;  // prompt, then output
  size_t prompt_len = 0;
  GenerationOptions options;
  std::shared_ptr<GenerationSink> sink;
  std::unique_ptr<Sampler> sampler;
  std::unique_ptr<TokenTextStream> text_stream;
  std::unique_ptr<StopStringMatcher> stop;
  std::string text;
  int64_t slot = -1;
  int64_t next_token = 0;     // the token the next decode step feeds
  mh_status refused = MH_OK;  // the sink refused text (GenerationSink::on_text): stop with it

  int64_t generated() const { return static_cast<int64_t>(context.size() - prompt_len); }
  // The position next_token goes to.
  int64_t position() const { return static_cast<int64_t>(context.size()) - 1; }
};

Scheduler::Scheduler(LlamaModel& model, SchedulerOptions options, TextStreamFactory text_streams)
    : model_(model),
      options_(std::move(options)),
      text_streams_(std::move(text_streams)),
      slots_(options_.max_batch) {
  if (options_.max_batch <= 0)
    throw mh::Error(MH_INVALID_ARGUMENT, "config: \"max_batch\" must be positive");
  if (options_.max_len <= 1)
    throw mh::Error(MH_INVALID_ARGUMENT, "config: \"max_seq_len\" must be at least 2");
  if (options_.max_len > model.max_len())
    throw mh::Error(MH_INVALID_ARGUMENT, "config: \"max_seq_len\" exceeds the model's tables");
  stream_ = std::make_unique<DeviceStream>(model.device());
  cache_ = std::make_unique<KvCache>(model.config(), options_.max_batch, options_.max_len,
                                     model.device(), model.dtype());
  synchronize_device(model.device());  // weights and cache are ready before the stream runs
  runner_ = std::make_unique<DecodeRunner>(model_, *cache_, options_.cuda_graphs);
  active_.resize(static_cast<size_t>(options_.max_batch));
  thread_ = std::thread([this] { run(); });
}

Scheduler::~Scheduler() {
  stop();
}

void Scheduler::log(mh_log_level level, const std::string& message) const {
  if (options_.log) options_.log(level, message);
}

void Scheduler::submit(std::string id, std::vector<int64_t> prompt, GenerationOptions options,
                       std::shared_ptr<GenerationSink> sink) {
  const int64_t vocab = model_.config().vocab_size;
  if (prompt.empty()) throw mh::Error(MH_INVALID_ARGUMENT, "prompt: is empty (no tokens)");
  if (static_cast<int64_t>(prompt.size()) >= options_.max_len)
    throw mh::Error(MH_INVALID_ARGUMENT,
                    "prompt: has " + std::to_string(prompt.size()) +
                        " tokens, which leaves no room in the model's context of " +
                        std::to_string(options_.max_len) + " tokens (max_seq_len)");
  for (int64_t token : prompt)
    if (token < 0 || token >= vocab)
      throw mh::Error(MH_INVALID_ARGUMENT, "prompt: token id " + std::to_string(token) +
                                               " is outside the vocabulary [0, " +
                                               std::to_string(vocab) + ")");
  if (options.max_new_tokens <= 0)
    throw mh::Error(MH_INVALID_ARGUMENT, "max_new_tokens: must be positive");

  auto seq = std::make_unique<Sequence>();
  seq->id = std::move(id);
  seq->prompt_len = prompt.size();
  seq->context = std::move(prompt);
  seq->sampler = std::make_unique<Sampler>(options.sampling, model_.device());
  seq->text_stream = text_streams_();
  seq->stop = std::make_unique<StopStringMatcher>(options.stop);
  seq->options = std::move(options);
  seq->sink = std::move(sink);
  {
    std::lock_guard lock(mutex_);
    if (stopping_) throw mh::Error(MH_UNAVAILABLE, "the model is shutting down");
    pending_.push_back(std::move(seq));
  }
  wake_.notify_one();
}

void Scheduler::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  // The thread released the device state on its way out (run()); this covers a scheduler
  // whose thread never started.
  release_device_state();
}

void Scheduler::release_device_state() {
  runner_.reset();
  if (stream_) stream_->release();
  stream_.reset();
  if (cache_) cache_->release();
  cache_.reset();
}

void Scheduler::run() {
  c10::InferenceMode inference;
  // All of this model's GPU work runs on a stream of its own, never the legacy default
  // stream (which CUDA graphs cannot capture and which would serialise with other models).
  stream_->make_current();
  for (;;) {
    std::deque<std::unique_ptr<Sequence>> admitted;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock,
                 [this] { return stopping_ || !pending_.empty() || active_count_.load() > 0; });
      if (stopping_) break;
      // Take what the free slots can hold; the rest waits in order.
      for (int64_t free = slots_.free_count(); free > 0 && !pending_.empty(); --free) {
        admitted.push_back(std::move(pending_.front()));
        pending_.pop_front();
      }
    }
    try {
      sweep_cancelled();
      for (auto& seq : admitted) admit(std::move(seq));
      admitted.clear();
      if (active_count_.load() > 0) decode_step();
    } catch (const std::exception& error) {
      // The batched forward pass failed (admit() and the samplers keep their own failures):
      // no one sequence owns it.
      log(MH_LOG_ERROR, "generation step failed: " + log_message(error));
      const std::string message = "generation failed: " + client_message(error);
      for (auto& seq : admitted) {
        if (seq) {
          GenerationResult result;
          result.status = MH_INTERNAL;
          result.message = message;
          seq->sink->on_finish(std::move(result));
        }
      }
      fail_all_active(MH_INTERNAL, message);
    }
  }
  // Shutdown: whatever is still open ends as cancelled.
  std::deque<std::unique_ptr<Sequence>> pending;
  {
    std::lock_guard lock(mutex_);
    pending.swap(pending_);
  }
  for (auto& seq : pending) {
    GenerationResult result;
    result.status = MH_CANCELLED;
    result.message = "the model is shutting down";
    result.prompt_tokens = static_cast<int64_t>(seq->prompt_len);
    seq->sink->on_finish(std::move(result));
    requests_cancelled_++;
  }
  for (auto& seq : active_)
    if (seq) requests_cancelled_++;
  fail_all_active(MH_CANCELLED, "the model is shutting down");
  // GPU teardown happens here, on the thread that used the stream: libtorch keeps some
  // per-stream caches (cuBLAS workspaces) per thread in some versions.
  stream_->synchronize();
  release_device_state();
}

void Scheduler::sweep_cancelled() {
  for (auto& seq : active_) {
    if (!seq) continue;
    const mh_status status = seq->sink->cancellation();
    if (status == MH_OK) continue;
    requests_cancelled_++;
    log(MH_LOG_INFO, "request " + seq->id + " stopped: " +
                         (status == MH_DEADLINE_EXCEEDED ? "deadline exceeded" : "cancelled") +
                         " after " + std::to_string(seq->generated()) + " generated tokens");
    finish(*seq, status,
           status == MH_DEADLINE_EXCEEDED ? "the request's deadline passed"
                                          : "the request was cancelled",
           "");
  }
}

void Scheduler::admit(std::unique_ptr<Sequence> owned) {
  Sequence& seq = *owned;
  if (const mh_status status = seq.sink->cancellation(); status != MH_OK) {
    requests_cancelled_++;
    log(MH_LOG_INFO, "request " + seq.id + " stopped before it started: " +
                         (status == MH_DEADLINE_EXCEEDED ? "deadline exceeded" : "cancelled"));
    GenerationResult result;
    result.status = status;
    result.message = status == MH_DEADLINE_EXCEEDED ? "the request's deadline passed"
                                                    : "the request was cancelled";
    result.prompt_tokens = static_cast<int64_t>(seq.prompt_len);
    seq.sink->on_finish(std::move(result));
    return;
  }
  const int64_t slot = *slots_.acquire();
  seq.slot = slot;
  active_[static_cast<size_t>(slot)] = std::move(owned);
  active_count_++;

  // Prefill and the first pick concern this sequence alone: whatever goes wrong in them fails
  // it, not the others.
  int64_t token = Sampler::kNoToken;
  try {
    // Prefill in chunks (bounded attention memory for long prompts); only the last chunk's
    // logits matter.
    at::Tensor logits;
    const int64_t prompt_len = static_cast<int64_t>(seq.prompt_len);
    for (int64_t start = 0; start < prompt_len; start += options_.prefill_chunk) {
      const int64_t len = std::min(options_.prefill_chunk, prompt_len - start);
      std::vector<int64_t> chunk(seq.context.begin() + start, seq.context.begin() + start + len);
      logits = model_.extend(*cache_, slot, chunk, start);
    }
    at::Tensor pick = seq.sampler->pick(logits, seq.context, seq.prompt_len);
    token = drop_non_finite_rows(pick.reshape({1}), logits.reshape({1, -1})).item<int64_t>();
  } catch (const std::exception& error) {
    fail_one(seq, "generation failed: " + client_message(error),
             "prefill failed: " + log_message(error));
    return;
  }
  if (token == Sampler::kNoToken) {
    fail_one(seq, kNotFinite, "the scores after its prompt are not finite");
    return;
  }
  accept_token(seq, token);
}

void Scheduler::decode_step() {
  const int64_t n = slots_.end();
  if (n == 0) return;
  std::vector<int64_t> tokens(static_cast<size_t>(n), 0);
  std::vector<int64_t> positions(static_cast<size_t>(n), 0);
  for (int64_t i = 0; i < n; ++i) {
    if (const auto& seq = active_[static_cast<size_t>(i)]) {
      tokens[static_cast<size_t>(i)] = seq->next_token;
      positions[static_cast<size_t>(i)] = seq->position();
    }
  }
  at::Tensor logits = runner_->step(tokens, positions);  // [n, vocab]
  // Plain greedy rows in one argmax; the others through their own sampler. Rows whose scores
  // are not finite become kNoToken. Then one copy to the host for the whole batch.
  at::Tensor picks = logits.argmax(-1);
  std::vector<std::string> sampler_errors(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const auto& seq = active_[static_cast<size_t>(i)];
    if (!seq || seq->sampler->plain_greedy()) continue;
    try {
      picks.narrow(0, i, 1).copy_(
          seq->sampler->pick(logits[i], seq->context, seq->prompt_len).view({1}));
    } catch (const std::exception& error) {
      // This row's sampler alone: its sequence fails below, the others go on.
      picks.narrow(0, i, 1).fill_(Sampler::kNoToken);
      log(MH_LOG_ERROR, "request " + seq->id + ": sampling failed: " + log_message(error));
      sampler_errors[static_cast<size_t>(i)] = client_message(error);
    }
  }
  at::Tensor host = drop_non_finite_rows(picks, logits).to(at::kCPU);
  const int64_t* chosen = host.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    auto& seq = active_[static_cast<size_t>(i)];
    if (!seq) continue;
    if (const std::string& error = sampler_errors[static_cast<size_t>(i)]; !error.empty()) {
      fail_one(*seq, "generation failed: " + error, "its sampler threw");
    } else if (chosen[i] == Sampler::kNoToken) {
      fail_one(*seq, kNotFinite, "its scores are not finite");
    } else {
      accept_token(*seq, chosen[i]);
    }
  }
}

bool Scheduler::accept_token(Sequence& seq, int64_t token) {
  seq.context.push_back(token);
  seq.next_token = token;
  tokens_generated_++;
  const bool eos = !seq.options.ignore_eos &&
                   std::find(options_.eos_token_ids.begin(), options_.eos_token_ids.end(), token) !=
                       options_.eos_token_ids.end();
  std::string reason;  // why it ends now; empty: it goes on
  if (eos) {
    // Text still held back (an incomplete character, a possible stop string) is final now.
    emit(seq, seq.stop->push(seq.text_stream->flush()));
    if (!seq.stop->stopped()) emit(seq, seq.stop->flush());
    reason = "stop";
  } else {
    emit(seq, seq.stop->push(seq.text_stream->push(token)));
    const bool out_of_budget = seq.generated() >= seq.options.max_new_tokens;
    const bool out_of_context = static_cast<int64_t>(seq.context.size()) >= options_.max_len;
    if (seq.stop->stopped()) {
      reason = "stop";
    } else if (out_of_budget || out_of_context) {
      emit(seq, seq.stop->push(seq.text_stream->flush()));
      if (!seq.stop->stopped()) emit(seq, seq.stop->flush());
      reason = seq.stop->stopped() ? "stop" : "length";
    }
  }
  if (seq.refused != MH_OK) {
    const std::string why = seq.refused == MH_RESOURCE_EXHAUSTED
                                ? "the client is not reading the stream"
                                : "the response refused the generated text";
    log(MH_LOG_INFO, "request " + seq.id + " stopped: " + why + " after " +
                         std::to_string(seq.generated()) + " generated tokens");
    finish(seq, seq.refused, why, "");
    return true;
  }
  if (reason.empty()) return false;
  finish(seq, MH_OK, "", reason);
  return true;
}

void Scheduler::emit(Sequence& seq, const std::string& text) {
  if (text.empty() || seq.refused != MH_OK) return;
  seq.text += text;
  const mh_status status = seq.sink->on_text(text);
  // A client that went away is noticed by the next cancellation check, as before.
  if (status != MH_OK && status != MH_CANCELLED && status != MH_DEADLINE_EXCEEDED)
    seq.refused = status;
}

void Scheduler::finish(Sequence& seq, mh_status status, std::string message, std::string reason) {
  GenerationResult result;
  result.status = status;
  result.message = std::move(message);
  result.finish_reason = std::move(reason);
  result.prompt_tokens = static_cast<int64_t>(seq.prompt_len);
  result.completion_tokens = seq.generated();
  result.tokens.assign(seq.context.begin() + static_cast<std::ptrdiff_t>(seq.prompt_len),
                       seq.context.end());
  result.text = std::move(seq.text);
  std::shared_ptr<GenerationSink> sink = std::move(seq.sink);
  const int64_t slot = seq.slot;
  // Free the slot before telling the sink: `seq` dies here.
  if (slot >= 0) {
    slots_.release(slot);
    active_count_--;
    active_[static_cast<size_t>(slot)].reset();
  }
  requests_finished_++;
  sink->on_finish(std::move(result));
}

void Scheduler::fail_one(Sequence& seq, const std::string& what, const std::string& detail) {
  log(MH_LOG_ERROR, "request " + seq.id + " failed after " + std::to_string(seq.generated()) +
                        " generated tokens: " + detail);
  finish(seq, MH_INTERNAL, what, "");
}

void Scheduler::fail_all_active(mh_status status, const std::string& message) {
  for (auto& seq : active_)
    if (seq) finish(*seq, status, message, "");
}

}  // namespace mh::llama
