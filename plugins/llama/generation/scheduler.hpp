// Continuous batching: one thread per model admits new requests (prefill into a free KV-cache
// slot) and decodes every active sequence together, one token per step, up to max_batch at a
// time. Each sequence checks for cancellation before every step, so a client that goes away
// stops costing compute within one token.
//
// One sequence's trouble stays its own: a prefill or a sampler that throws, or scores that are
// not finite numbers, fail that sequence alone (MH_INTERNAL, a one-line message without a
// backtrace; the whole text goes to the log); only a failure of the batched forward pass
// itself, which no one sequence owns, fails every active sequence.
//
//   submit ──► pending ──(free slot)──► prefill ──► active ──(step)*──► finished
//                  └──────────── cancelled / shutdown ──────────────────────┘
#pragma once

#include "generation/decode_runner.hpp"
#include "generation/device_stream.hpp"
#include "generation/generation_types.hpp"
#include "kv_cache.hpp"
#include "llama_model.hpp"
#include "stop_strings.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mh::llama {

struct SchedulerOptions {
  int64_t max_batch = 8;   // KV-cache slots: sequences decoded together
  int64_t max_len = 4096;  // positions per slot: prompt plus output
  int64_t prefill_chunk = 512;
  bool cuda_graphs = true;  // on CUDA models
  std::vector<int64_t> eos_token_ids;
  LogFunction log;
};

class Scheduler {
 public:
  // Allocates the KV cache (on the model's device) and starts the thread.
  Scheduler(LlamaModel& model, SchedulerOptions options, TextStreamFactory text_streams);
  // stop()
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues one request. Throws mh::Error(MH_INVALID_ARGUMENT) for a prompt that does not fit
  // (empty, longer than the context, ids outside the vocabulary) and MH_UNAVAILABLE after
  // stop(). Otherwise `sink` gets exactly one on_finish, on the scheduler thread.
  void submit(std::string id, std::vector<int64_t> prompt, GenerationOptions options,
              std::shared_ptr<GenerationSink> sink);

  // Finishes every pending and active request with MH_CANCELLED, joins the thread and frees
  // the KV cache and graphs. Idempotent.
  void stop();

  uint64_t tokens_generated() const { return tokens_generated_.load(); }
  uint64_t requests_cancelled() const { return requests_cancelled_.load(); }
  uint64_t requests_finished() const { return requests_finished_.load(); }
  // Sequences now decoding (for stats).
  int64_t active() const { return active_count_.load(); }
  int64_t max_len() const { return options_.max_len; }

 private:
  struct Sequence;

  void run();
  void admit(std::unique_ptr<Sequence> seq);
  void decode_step();
  // Handles one new token; returns true when the sequence finished.
  bool accept_token(Sequence& seq, int64_t token);
  // Hands text to the sink; a refusal (see GenerationSink::on_text) is kept in the sequence.
  void emit(Sequence& seq, const std::string& text);
  void finish(Sequence& seq, mh_status status, std::string message, std::string reason);
  // Ends one sequence with MH_INTERNAL: `what` for the client, `detail` for the log.
  void fail_one(Sequence& seq, const std::string& what, const std::string& detail);
  void sweep_cancelled();
  void fail_all_active(mh_status status, const std::string& message);
  void log(mh_log_level level, const std::string& message) const;
  // Graphs, stream (with its cuBLAS workspaces) and KV cache; idempotent.
  void release_device_state();

  LlamaModel& model_;
  SchedulerOptions options_;
  TextStreamFactory text_streams_;
  std::unique_ptr<DeviceStream> stream_;
  std::unique_ptr<KvCache> cache_;
  std::unique_ptr<DecodeRunner> runner_;
  SlotAllocator slots_;
  std::vector<std::unique_ptr<Sequence>> active_;  // indexed by slot; null where free

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::unique_ptr<Sequence>> pending_;  // guarded by mutex_
  bool stopping_ = false;                          // guarded by mutex_
  std::thread thread_;

  std::atomic<uint64_t> tokens_generated_{0};
  std::atomic<uint64_t> requests_cancelled_{0};
  std::atomic<uint64_t> requests_finished_{0};
  std::atomic<int64_t> active_count_{0};
};

}  // namespace mh::llama
