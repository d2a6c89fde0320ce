#include "isolation/frame_fields.hpp"

#include <limits>

namespace mh::isolation {

namespace {

void put(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>(value >> (8 * i)));
}

std::uint64_t get(std::string_view bytes) {
  std::uint64_t value = 0;
  for (std::size_t i = bytes.size(); i-- > 0;) {
    value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  }
  return value;
}

}  // namespace

PayloadWriter& PayloadWriter::u8(std::uint8_t value) {
  put(out_, value, 1);
  return *this;
}

PayloadWriter& PayloadWriter::u32(std::uint32_t value) {
  put(out_, value, 4);
  return *this;
}

PayloadWriter& PayloadWriter::u64(std::uint64_t value) {
  put(out_, value, 8);
  return *this;
}

PayloadWriter& PayloadWriter::bytes(std::string_view value) {
  if (value.size() > std::numeric_limits<std::uint32_t>::max()) {
    throw FrameError("frame too large: a field of " + std::to_string(value.size()) + " bytes");
  }
  u32(static_cast<std::uint32_t>(value.size()));
  out_.append(value);
  return *this;
}

std::string_view PayloadReader::take(std::string_view field, std::size_t size) {
  if (rest_.size() < size) {
    throw FrameError("malformed " + std::string(frame_type_name(frame_)) + " frame: field '" +
                     std::string(field) + "' needs " + std::to_string(size) + " bytes, " +
                     std::to_string(rest_.size()) + " left");
  }
  std::string_view value = rest_.substr(0, size);
  rest_.remove_prefix(size);
  return value;
}

std::uint8_t PayloadReader::u8(std::string_view field) {
  return static_cast<std::uint8_t>(get(take(field, 1)));
}

std::uint32_t PayloadReader::u32(std::string_view field) {
  return static_cast<std::uint32_t>(get(take(field, 4)));
}

std::uint64_t PayloadReader::u64(std::string_view field) {
  return get(take(field, 8));
}

std::string PayloadReader::bytes(std::string_view field) {
  const std::uint32_t size = u32(field);
  return std::string(take(field, size));
}

void PayloadReader::end() const {
  if (!rest_.empty()) {
    throw FrameError("malformed " + std::string(frame_type_name(frame_)) + " frame: " +
                     std::to_string(rest_.size()) + " unexpected bytes after the last field");
  }
}

}  // namespace mh::isolation
