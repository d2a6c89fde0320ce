#pragma once
// Unloads plugin libraries from a thread of its own, no sooner than a delay (1 s) after their
// last instance's cleanup (or failed init) called done — plugin.h promises a plugin thread that
// it may call done as its last act and return. Every release of a library handle made for a
// model goes through here, so no plugin thread ever runs into dlclose.
#include "plugin/plugin_library.hpp"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

namespace mh::host {

class LibraryUnloader {
 public:
  explicit LibraryUnloader(std::chrono::milliseconds delay = std::chrono::seconds(1));
  // Waits until every scheduled release is due and done.
  ~LibraryUnloader();
  LibraryUnloader(const LibraryUnloader&) = delete;
  LibraryUnloader& operator=(const LibraryUnloader&) = delete;

  // Drops `library` (the library unloads when that was its last holder) after the delay.
  void release_later(std::shared_ptr<const PluginLibrary> library);

  // Releases scheduled so far and not yet done.
  std::size_t pending() const;

 private:
  void run();

  std::chrono::milliseconds delay_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::shared_ptr<const PluginLibrary>>>
      queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace mh::host
