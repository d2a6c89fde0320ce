#include "isolation/frame.hpp"

#include <cstdio>

namespace mh::isolation {

namespace {

void put_u16(std::string& out, std::uint16_t value) {
  out.push_back(static_cast<char>(value & 0xFF));
  out.push_back(static_cast<char>(value >> 8));
}

void put_u32(std::string& out, std::uint32_t value) {
  for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<char>(value >> shift));
}

std::uint32_t get_u32(const char* at) {
  std::uint32_t value = 0;
  for (int i = 3; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(at[i]);
  return value;
}

std::uint16_t get_u16(const char* at) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(at[0]) |
                                    (static_cast<unsigned char>(at[1]) << 8));
}

std::string hex16(std::uint16_t value) {
  char text[8];
  std::snprintf(text, sizeof text, "0x%04x", value);
  return text;
}

std::string too_large(std::string_view what, std::size_t size, std::size_t limit) {
  return "frame too large: a " + std::string(what) + " frame of " + std::to_string(size) +
         " bytes exceeds the limit of " + std::to_string(limit) + " bytes";
}

}  // namespace

std::string encode_frame(FrameType type, std::string_view payload, std::size_t max_payload) {
  if (payload.size() > max_payload) {
    throw FrameError(too_large(frame_type_name(type), payload.size(), max_payload));
  }
  std::string out;
  out.reserve(kFrameHeaderBytes + payload.size());
  put_u32(out, static_cast<std::uint32_t>(payload.size()));
  put_u16(out, static_cast<std::uint16_t>(type));
  put_u16(out, kFrameMarker);
  out.append(payload);
  return out;
}

void FrameDecoder::feed(const char* data, std::size_t size) {
  // Drop what was consumed before growing, so the buffer holds at most one frame and a read.
  if (consumed_ > 0 && (consumed_ == buffer_.size() || consumed_ >= buffer_.size() / 2)) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  buffer_.append(data, size);
}

std::optional<Frame> FrameDecoder::next() {
  if (failed_) throw FrameError("malformed frame: the stream is out of step after an error");
  if (buffered() < kFrameHeaderBytes) return std::nullopt;
  const char* header = buffer_.data() + consumed_;
  const std::uint32_t size = get_u32(header);
  const std::uint16_t type = get_u16(header + 4);
  const std::uint16_t marker = get_u16(header + 6);
  if (marker != kFrameMarker) {
    failed_ = true;
    throw FrameError("malformed frame: bad header marker " + hex16(marker) +
                     " (not a modelhost runner stream, or out of step)");
  }
  if (!is_frame_type(type)) {
    failed_ = true;
    throw FrameError("malformed frame: unknown frame type " + std::to_string(type));
  }
  if (size > max_payload_) {
    failed_ = true;
    throw FrameError(too_large(frame_type_name(static_cast<FrameType>(type)), size, max_payload_));
  }
  if (buffered() < kFrameHeaderBytes + size) return std::nullopt;
  Frame frame;
  frame.type = static_cast<FrameType>(type);
  frame.payload.assign(header + kFrameHeaderBytes, size);
  consumed_ += kFrameHeaderBytes + size;
  return frame;
}

void FrameDecoder::finish() const {
  if (buffered() == 0) return;
  if (buffered() < kFrameHeaderBytes) {
    throw FrameError("truncated frame: the stream ended inside a frame header (" +
                     std::to_string(buffered()) + " of " + std::to_string(kFrameHeaderBytes) +
                     " bytes)");
  }
  const std::uint32_t size = get_u32(buffer_.data() + consumed_);
  throw FrameError("truncated frame: the stream ended inside a frame (" +
                   std::to_string(buffered()) + " of " +
                   std::to_string(kFrameHeaderBytes + std::size_t{size}) + " bytes)");
}

}  // namespace mh::isolation
