// Bounded retries with exponential backoff, for transient errors only.
#pragma once

#include <chrono>
#include <stop_token>

namespace mh::sync {

struct RetryPolicy {
  int max_attempts = 5;  // tries in all, the first included
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{8000};
};

// The pause before try number `attempt + 1` (attempt >= 1): initial_backoff * 2^(attempt-1),
// capped at max_backoff, with up to 20% of random jitter taken off so that parallel workers
// do not retry in lockstep.
std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int attempt);

// Sleeps `delay` unless `stop` is requested first; returns false when it was.
bool sleep_unless_stopped(std::chrono::milliseconds delay, const std::stop_token& stop);

}  // namespace mh::sync
