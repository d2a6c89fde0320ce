// ModelRegistry: waiting until models settle (reload --wait, shutdown). A waiter's predicate is
// evaluated under the registry's lock after every change; its callback runs once, outside it.
#include "model/model_registry.hpp"

#include "registry_entry.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <cassert>

namespace mh::host {

namespace asio = boost::asio;

bool ModelRegistry::settled_locked(const std::string& name) const {
  assert(mutex_.held());
  auto it = entries_.find(name);
  if (it == entries_.end()) return true;
  const Entry& entry = it->second;
  if (entry.pending || entry.refreshing) return false;
  if ((entry.removed || entry.unloaded) && !entry.retiring.empty()) return false;
  return true;
}

void ModelRegistry::when_settled(std::function<bool()> settled,
                                 std::optional<std::chrono::milliseconds> timeout,
                                 std::function<void()> callback) {
  auto waiter = std::make_shared<Waiter>();
  waiter->settled = std::move(settled);
  waiter->callback = std::move(callback);
  {
    std::lock_guard lock(mutex_);
    if (!waiter->settled()) {
      if (timeout) {
        waiter->timer = std::make_unique<asio::steady_timer>(services_.lifecycle, *timeout);
        waiter->timer->async_wait([weak = std::weak_ptr<ModelRegistry>(shared_from_this()),
                                   waiter](const boost::system::error_code& error) {
          if (error) return;
          if (auto self = weak.lock()) {
            std::lock_guard lock(self->mutex_);
            auto& list = self->waiters_;
            list.erase(std::remove(list.begin(), list.end(), waiter), list.end());
          }
          if (!waiter->fired.exchange(true)) waiter->callback();
        });
      }
      waiters_.push_back(waiter);
      return;
    }
  }
  if (!waiter->fired.exchange(true)) waiter->callback();
}

void ModelRegistry::notify_changed() {
  std::vector<std::shared_ptr<Waiter>> ready;
  {
    std::lock_guard lock(mutex_);
    auto split = std::stable_partition(waiters_.begin(), waiters_.end(),
                                       [](const auto& waiter) { return !waiter->settled(); });
    ready.assign(split, waiters_.end());
    waiters_.erase(split, waiters_.end());
  }
  for (auto& waiter : ready) {
    if (waiter->fired.exchange(true)) continue;
    // Only the thread that took the waiter off the list touches its timer now.
    if (waiter->timer) waiter->timer->cancel();
    asio::post(services_.lifecycle, [waiter] { waiter->callback(); });
  }
}

}  // namespace mh::host
