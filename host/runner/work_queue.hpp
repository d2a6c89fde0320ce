#pragma once
// The runner's worker threads: the plugin's init, predict and cleanup run here, as they run on
// hostd's worker threads in-process, so that the channel's reader never waits for the plugin
// (cancel frames and stats reads are served while a predict call is slow to return).
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace mh::runner {

class WorkQueue {
 public:
  explicit WorkQueue(std::size_t threads);
  // Runs what was posted, then joins.
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Runs `work` on a worker, in posting order as threads free up.
  void post(std::function<void()> work);

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace mh::runner
