#pragma once
// mh_request.deadline_unix_ms is wall-clock milliseconds since the Unix epoch (plugin.h). Every
// host of a plugin — hostd in process and mh-runner — reads it through these two functions.
#include <chrono>
#include <cstdint>

namespace mh::host {

inline std::int64_t now_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// True once a request's deadline (0: none) has passed.
inline bool deadline_passed(std::int64_t deadline_unix_ms) {
  return deadline_unix_ms != 0 && now_unix_ms() >= deadline_unix_ms;
}

}  // namespace mh::host
