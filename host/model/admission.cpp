#include "model/admission.hpp"

#include <algorithm>
#include <cassert>
#include <utility>

namespace mh::host {

Admission::Admission(std::size_t max_concurrency, std::size_t max_queue)
    : max_concurrency_(std::max<std::size_t>(1, max_concurrency)), max_queue_(max_queue) {}

Admission::Outcome Admission::admit(std::function<void()> start, Ticket* ticket) {
  {
    std::lock_guard lock(mutex_);
    if (closed_) return Outcome::closed;
    if (running_ >= max_concurrency_) {
      if (queue_.size() >= max_queue_) return Outcome::rejected;
      const Ticket id = next_ticket_++;
      queue_.push_back({id, std::move(start)});
      if (ticket) *ticket = id;
      return Outcome::queued;
    }
    ++running_;
  }
  start();
  return Outcome::started;
}

bool Admission::withdraw(Ticket ticket) {
  std::vector<std::function<void()>> idle;
  {
    std::lock_guard lock(mutex_);
    auto it = std::find_if(queue_.begin(), queue_.end(),
                           [&](const Waiter& waiter) { return waiter.ticket == ticket; });
    if (it == queue_.end()) return false;
    queue_.erase(it);
    idle = take_idle_callbacks_locked();
  }
  for (auto& callback : idle) callback();
  return true;
}

void Admission::release() {
  std::function<void()> next;
  std::vector<std::function<void()>> idle;
  {
    std::lock_guard lock(mutex_);
    if (!queue_.empty()) {
      next = std::move(queue_.front().start);  // the slot passes on; running_ stays
      queue_.pop_front();
    } else {
      if (running_ > 0) --running_;
      idle = take_idle_callbacks_locked();
    }
  }
  if (next) next();
  for (auto& callback : idle) callback();
}

void Admission::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
}

void Admission::when_idle(std::function<void()> callback) {
  {
    std::lock_guard lock(mutex_);
    if (running_ > 0 || !queue_.empty()) {
      idle_callbacks_.push_back(std::move(callback));
      return;
    }
  }
  callback();
}

std::vector<std::function<void()>> Admission::take_idle_callbacks_locked() {
  assert(mutex_.held());
  if (running_ > 0 || !queue_.empty()) return {};
  return std::exchange(idle_callbacks_, {});
}

std::size_t Admission::running() const {
  std::lock_guard lock(mutex_);
  return running_;
}

std::size_t Admission::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

}  // namespace mh::host
