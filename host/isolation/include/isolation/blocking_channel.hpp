#pragma once
// The runner's end of the channel: blocking frame I/O on one socket. Any thread may send (a
// frame goes out whole, under a lock, in the order the sends took the lock); one thread
// receives. A send blocks while hostd's socket buffer is full, which is the backpressure a
// plugin writing faster than hostd reads should feel.
#include "isolation/frame.hpp"

#include <mutex>
#include <optional>

namespace mh::isolation {

class BlockingChannel {
 public:
  // Takes `fd` (closed with the channel).
  explicit BlockingChannel(int fd, std::size_t max_payload = kDefaultMaxFramePayload);
  ~BlockingChannel();
  BlockingChannel(const BlockingChannel&) = delete;
  BlockingChannel& operator=(const BlockingChannel&) = delete;

  // Sends one frame; false when the peer is gone. Throws FrameError when the frame exceeds
  // the payload limit (nothing is sent then).
  bool send(const Frame& frame);
  // The next frame; nullopt when the peer closed the channel between frames. Throws
  // FrameError on a malformed frame, or one cut off by the end of the stream.
  std::optional<Frame> receive();

  // Raises or lowers the payload limit both ways (after the load handshake).
  void set_max_payload(std::size_t max_payload);
  std::size_t max_payload() const;

 private:
  int fd_;
  mutable std::mutex send_mutex_;
  std::size_t max_payload_;  // guarded by send_mutex_
  FrameDecoder decoder_;     // the receiving thread's
};

}  // namespace mh::isolation
