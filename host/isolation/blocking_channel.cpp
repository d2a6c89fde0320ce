#include "isolation/blocking_channel.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace mh::isolation {

BlockingChannel::BlockingChannel(int fd, std::size_t max_payload)
    : fd_(fd), max_payload_(max_payload), decoder_(max_payload) {}

BlockingChannel::~BlockingChannel() {
  if (fd_ >= 0) ::close(fd_);
}

void BlockingChannel::set_max_payload(std::size_t max_payload) {
  std::lock_guard lock(send_mutex_);
  max_payload_ = max_payload;
  decoder_.set_max_payload(max_payload);  // called from the receiving thread
}

std::size_t BlockingChannel::max_payload() const {
  std::lock_guard lock(send_mutex_);
  return max_payload_;
}

bool BlockingChannel::send(const Frame& frame) {
  std::lock_guard lock(send_mutex_);
  const std::string bytes = encode_frame(frame.type, frame.payload, max_payload_);
  for (std::size_t sent = 0; sent < bytes.size();) {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

std::optional<Frame> BlockingChannel::receive() {
  char buffer[64 * 1024];
  for (;;) {
    if (auto frame = decoder_.next()) return frame;
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      decoder_.finish();  // throws when the stream ended inside a frame
      return std::nullopt;
    }
    decoder_.feed(buffer, static_cast<std::size_t>(n));
  }
}

}  // namespace mh::isolation
