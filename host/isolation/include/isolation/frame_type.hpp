#pragma once
// The kinds of frame hostd and a runner exchange (see messages.hpp for each one's fields).
//
//   hostd                                   runner
//     load ───────────────────────────────►   (loads the plugin through host/plugin)
//          ◄─────────────────── loaded | load_failed
//     init ───────────────────────────────►   plugin init
//          ◄──────────────────────── init_done
//     predict ────────────────────────────►   plugin predict     (any number, concurrently)
//     cancel ─────────────────────────────►   check_cancelled / write report it
//          ◄──────────────── write*, finish   (per request)
//     stats_read ─────────────────────────►   mh.plugin.stats/1 read
//          ◄────────────────────── stats_reply
//     cleanup ────────────────────────────►   plugin cleanup
//          ◄───────────────────── cleanup_done   (then the runner exits with code 0)
//          ◄──────────────────────────── log   (any time: the plugin's mh_host.log)
//
// Values are part of the wire format between a hostd and the runner installed beside it; both
// come from one build, and `load` carries kProtocolVersion so a mismatch is refused clearly.
#include <cstdint>
#include <string_view>

namespace mh::isolation {

// Bumped whenever a frame's fields change.
inline constexpr std::uint32_t kProtocolVersion = 1;

enum class FrameType : std::uint16_t {
  // hostd -> runner
  load = 1,
  init = 2,
  predict = 3,
  cancel = 4,
  cleanup = 5,
  stats_read = 6,
  // runner -> hostd
  loaded = 32,
  load_failed = 33,
  init_done = 34,
  write = 35,
  finish = 36,
  cleanup_done = 37,
  log = 38,
  stats_reply = 39,
};

// Whether `value` is one of the FrameType values above.
bool is_frame_type(std::uint16_t value) noexcept;

// "predict", for messages; "unknown" for a value that is not a FrameType.
std::string_view frame_type_name(FrameType type) noexcept;

}  // namespace mh::isolation
