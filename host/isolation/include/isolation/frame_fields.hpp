#pragma once
// The fields inside a frame's payload: fixed-width little-endian integers and length-prefixed
// byte strings (u32 length, then the bytes), in the order each message defines. The reader
// checks every length against what is left, so a malformed payload is a FrameError naming the
// frame and the field, never a read past the end.
#include "isolation/frame.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace mh::isolation {

class PayloadWriter {
 public:
  PayloadWriter& u8(std::uint8_t value);
  PayloadWriter& u32(std::uint32_t value);
  PayloadWriter& u64(std::uint64_t value);
  PayloadWriter& i64(std::int64_t value) { return u64(static_cast<std::uint64_t>(value)); }
  // Throws FrameError for a string of 4 GiB or more.
  PayloadWriter& bytes(std::string_view value);

  std::string take() && { return std::move(out_); }

 private:
  std::string out_;
};

class PayloadReader {
 public:
  // `frame` names the frame in errors; `payload` must outlive the reader.
  PayloadReader(FrameType frame, std::string_view payload) : frame_(frame), rest_(payload) {}

  // Each reads one field; `field` names it in the FrameError thrown when it is cut off.
  std::uint8_t u8(std::string_view field);
  std::uint32_t u32(std::string_view field);
  std::uint64_t u64(std::string_view field);
  std::int64_t i64(std::string_view field) { return static_cast<std::int64_t>(u64(field)); }
  std::string bytes(std::string_view field);
  // Throws FrameError when bytes are left after the last field.
  void end() const;

 private:
  std::string_view take(std::string_view field, std::size_t size);

  FrameType frame_;
  std::string_view rest_;
};

}  // namespace mh::isolation
