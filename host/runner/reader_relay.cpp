#include "reader_relay.hpp"

namespace mh::runner {

namespace {

// Predict calls that take longer than this on average go to the workers, where they overlap.
constexpr std::chrono::microseconds kSlowCall{500};
// After this long without an inline call the spare stops ticking.
constexpr std::chrono::seconds kQuietAfter{1};

}  // namespace

ReaderRelay::ReaderRelay(std::chrono::milliseconds takeover_after)
    : takeover_after_(takeover_after) {}

std::uint64_t ReaderRelay::first_turn() {
  std::lock_guard lock(mutex_);
  return turn_;
}

bool ReaderRelay::begin_inline() {
  std::lock_guard lock(mutex_);
  if (stranded_ || recent_ns_ > std::chrono::nanoseconds(kSlowCall).count()) return false;
  in_plugin_ = true;
  entered_ = Clock::now();
  ++inline_calls_;
  if (spare_asleep_) {
    spare_asleep_ = false;
    changed_.notify_one();
  }
  return true;
}

bool ReaderRelay::end_inline(std::uint64_t turn) {
  const auto now = Clock::now();
  std::lock_guard lock(mutex_);
  if (turn != turn_) {
    // The spare reads now; in_plugin_ is its business. This thread is the spare.
    stranded_ = false;
    note_locked(now - entered_);
    return false;
  }
  in_plugin_ = false;
  note_locked(now - entered_);
  return true;
}

void ReaderRelay::note_worker_call(std::chrono::nanoseconds spent) {
  std::lock_guard lock(mutex_);
  note_locked(spent);
}

void ReaderRelay::note_locked(std::chrono::nanoseconds spent) {
  // An exponentially weighted average over about the last eight calls.
  recent_ns_ += (spent.count() - recent_ns_) / 8;
}

std::uint64_t ReaderRelay::wait_for_turn() {
  std::unique_lock lock(mutex_);
  for (;;) {
    const auto now = Clock::now();
    if (in_plugin_ && now - entered_ >= takeover_after_) {
      // The reader is stuck in the plugin: read in its place.
      ++turn_;
      in_plugin_ = false;
      stranded_ = true;
      return turn_;
    }
    if (in_plugin_) {
      changed_.wait_until(lock, entered_ + takeover_after_);
    } else if (now - entered_ >= kQuietAfter) {
      spare_asleep_ = true;  // the next begin_inline wakes it
      changed_.wait(lock, [this] { return !spare_asleep_; });
    } else {
      changed_.wait_for(lock, takeover_after_);
    }
  }
}

}  // namespace mh::runner
