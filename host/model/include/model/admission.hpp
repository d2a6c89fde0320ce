#pragma once
// Admission control for one model generation: at most max_concurrency requests run in the
// plugin at once, at most max_queue more wait (first come, first served), the rest are
// refused (the HTTP layer answers 429). Thread-safe; callbacks run outside the lock.
#include "model/checked_mutex.hpp"

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

namespace mh::host {

class Admission {
 public:
  using Ticket = std::uint64_t;
  enum class Outcome { started, queued, rejected, closed };

  Admission(std::size_t max_concurrency, std::size_t max_queue);

  // Runs `start` now (on this thread) when a slot is free, else queues it (it then runs on the
  // thread of the release() that frees a slot), else refuses; `closed` after close().
  // `ticket` identifies a queued entry for withdraw().
  Outcome admit(std::function<void()> start, Ticket* ticket = nullptr);

  // Takes a queued entry out (its client left, or its deadline passed). False when it is not
  // queued (it already started, or was withdrawn).
  bool withdraw(Ticket ticket);

  // A started request is over: starts the next queued one, if any.
  void release();

  // Refuses every later admit (the generation is draining); what was admitted still runs.
  // Together with when_idle this has no gap: an admit either counts before the drain or is
  // refused, so the caller can route it to the next generation.
  void close();

  // Runs `callback` once nothing runs and nothing waits (at once when that is so already).
  // Later admits are still accepted; the callback fires once.
  void when_idle(std::function<void()> callback);

  std::size_t running() const;
  std::size_t queued() const;

 private:
  struct Waiter {
    Ticket ticket;
    std::function<void()> start;
  };
  // Takes the idle callbacks when idle. [requires mutex_; asserted]
  std::vector<std::function<void()>> take_idle_callbacks_locked();

  const std::size_t max_concurrency_;
  const std::size_t max_queue_;
  mutable CheckedMutex mutex_;
  std::size_t running_ = 0;
  bool closed_ = false;
  std::deque<Waiter> queue_;
  Ticket next_ticket_ = 1;
  std::vector<std::function<void()>> idle_callbacks_;
};

}  // namespace mh::host
