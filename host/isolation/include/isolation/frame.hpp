#pragma once
// Length-prefixed frames on the hostd <-> runner socket, and their incremental decoder.
//
// Wire format of one frame (little-endian):
//   u32 payload_size | u16 type (FrameType) | u16 marker 0x484D ("MH") | payload_size bytes
// The marker catches a stream that is out of step (or not ours) at the first header. A frame
// whose payload exceeds the decoder's limit is refused from its header alone, before any of it
// is buffered: a runner cannot make hostd allocate more than the limit per frame.
#include "isolation/frame_type.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace mh::isolation {

inline constexpr std::size_t kFrameHeaderBytes = 8;
inline constexpr std::uint16_t kFrameMarker = 0x484D;
// The default hard limit on one frame's payload: request bodies, chunks and replies travel in
// one frame each, so this is also the largest body an isolated model can take or give.
inline constexpr std::size_t kDefaultMaxFramePayload = std::size_t{64} << 20;

// A malformed, oversized or truncated frame; the message says which and why.
class FrameError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Frame {
  FrameType type = FrameType::load;
  std::string payload;
};

// The bytes of one frame. Throws FrameError when `payload` exceeds `max_payload`.
std::string encode_frame(FrameType type, std::string_view payload,
                         std::size_t max_payload = kDefaultMaxFramePayload);

// Cuts a byte stream into frames. Not thread-safe; one per direction of a channel.
class FrameDecoder {
 public:
  explicit FrameDecoder(std::size_t max_payload = kDefaultMaxFramePayload)
      : max_payload_(max_payload) {}

  // Appends received bytes.
  void feed(const char* data, std::size_t size);
  // The next complete frame, or nullopt when more bytes are needed. Throws FrameError on a
  // malformed header (wrong marker, unknown type, payload over the limit); the decoder is
  // unusable after that (the stream is out of step).
  std::optional<Frame> next();
  // Call at end of stream: throws FrameError when it ended in the middle of a frame.
  void finish() const;

  // Bytes received and not yet returned as frames.
  std::size_t buffered() const noexcept { return buffer_.size() - consumed_; }
  std::size_t max_payload() const noexcept { return max_payload_; }
  void set_max_payload(std::size_t max_payload) noexcept { max_payload_ = max_payload; }

 private:
  std::size_t max_payload_;
  std::string buffer_;
  std::size_t consumed_ = 0;
  bool failed_ = false;
};

}  // namespace mh::isolation
