#pragma once
// Who reads hostd's frames, so that a predict call can run on the reading thread itself.
//
// Handing every predict to a worker thread costs a thread wake-up per request, on the path of
// every answer (about a third of what process isolation cost on echo). A plugin's predict
// returns at once as plugin.h asks, so the reader runs it inline; but the reader must never
// wait long for the plugin (cancel frames and stats reads are answered by the reader, and
// other requests must start). Two threads therefore relay the reader role:
//
//   reader ──predict──► [in the plugin] ──returns──► reader (reads on)
//                            │ still there after `takeover_after` (checked every tick)
//                            ▼
//   spare  ──────────────► reader (reads on);  the stranded thread, once the plugin lets it
//                                              go, becomes the spare
//
// While a thread is stranded in the plugin there is no spare: calls go to the worker threads
// as before (inline() says no), so at most one thread is ever lost to a plugin that blocks.
// inline() also says no while the plugin's recent predict calls were slow to return (their
// parallelism on the workers is worth the wake-up then).
//
// The spare ticks every `takeover_after` while inline calls come; after a quiet second it
// sleeps until the next inline call wakes it (the only wake-up an inline call may cost). So a
// predict that blocks holds up the channel for less than two ticks.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace mh::runner {

class ReaderRelay {
 public:
  explicit ReaderRelay(std::chrono::milliseconds takeover_after);

  // The reader's turn, taken by the thread that starts serving: returns its turn number.
  std::uint64_t first_turn();

  // [reader] Whether the next plugin call may run on this thread. When true, end_inline must
  // follow the call.
  bool begin_inline();
  // [reader] The inline call returned; false when the spare took the reader role meanwhile
  // (this thread is the spare from now on: call wait_for_turn).
  bool end_inline(std::uint64_t turn);
  // [any thread] A predict call that ran on a worker took `spent` (for the slowness estimate).
  void note_worker_call(std::chrono::nanoseconds spent);

  // [spare] Blocks until the reader has been in one inline call for `takeover_after`; then
  // this thread is the reader: returns its turn number.
  std::uint64_t wait_for_turn();

 private:
  using Clock = std::chrono::steady_clock;
  void note_locked(std::chrono::nanoseconds spent);

  const std::chrono::milliseconds takeover_after_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::uint64_t turn_ = 0;          // bumped each time the reader role changes threads
  bool in_plugin_ = false;          // the reader is in an inline call
  Clock::time_point entered_;       // when it entered it
  std::uint64_t inline_calls_ = 0;  // inline calls begun, ever
  bool stranded_ = false;           // a former reader is still in its inline call
  bool spare_asleep_ = false;       // the spare waits without ticking
  // Recent predict calls' time in the plugin (exponentially weighted, in nanoseconds).
  std::int64_t recent_ns_ = 0;
};

}  // namespace mh::runner
