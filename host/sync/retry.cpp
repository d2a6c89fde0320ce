#include "sync/retry.hpp"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <random>

namespace mh::sync {

std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int attempt) {
  const int doublings = std::clamp(attempt - 1, 0, 30);
  const auto base = std::min<std::chrono::milliseconds::rep>(
      policy.initial_backoff.count() << std::min(doublings, 20), policy.max_backoff.count());
  thread_local std::minstd_rand rng{std::random_device{}()};
  std::uniform_real_distribution<double> jitter(0.8, 1.0);
  return std::chrono::milliseconds(static_cast<long long>(static_cast<double>(base) * jitter(rng)));
}

bool sleep_unless_stopped(std::chrono::milliseconds delay, const std::stop_token& stop) {
  std::mutex mutex;
  std::condition_variable_any cv;
  std::unique_lock lock(mutex);
  cv.wait_for(lock, stop, delay, [] { return false; });
  return !stop.stop_requested();
}

}  // namespace mh::sync
