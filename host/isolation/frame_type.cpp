#include "isolation/frame_type.hpp"

namespace mh::isolation {

bool is_frame_type(std::uint16_t value) noexcept {
  return frame_type_name(static_cast<FrameType>(value)) != "unknown";
}

std::string_view frame_type_name(FrameType type) noexcept {
  switch (type) {
    case FrameType::load:
      return "load";
    case FrameType::init:
      return "init";
    case FrameType::predict:
      return "predict";
    case FrameType::cancel:
      return "cancel";
    case FrameType::cleanup:
      return "cleanup";
    case FrameType::stats_read:
      return "stats_read";
    case FrameType::loaded:
      return "loaded";
    case FrameType::load_failed:
      return "load_failed";
    case FrameType::init_done:
      return "init_done";
    case FrameType::write:
      return "write";
    case FrameType::finish:
      return "finish";
    case FrameType::cleanup_done:
      return "cleanup_done";
    case FrameType::log:
      return "log";
    case FrameType::stats_reply:
      return "stats_reply";
  }
  return "unknown";
}

}  // namespace mh::isolation
