// Fuzzes the safetensors header reader (plugins/llama/safetensors_header.hpp): a model file is
// untrusted input. Each input is a whole .safetensors file (8-byte length, JSON header, data).
// parse_safetensors_header either accepts it or throws mh::Error; for what it accepted, the data
// section must be the rest of the file, and every tensor's bytes must lie inside it and be exactly
// its shape's element count times its dtype's size (checked here again, independently), so that
// SafetensorsFile::tensor's view of them (safetensors.cpp, libtorch) stays inside the mapping.
// Reading those bytes in the input buffer lets ASan check the bounds too.
#include "safetensors_header.hpp"

#include <modelhost/plugin.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

[[noreturn]] void fail(const std::string& name, const char* what) {
  std::fprintf(stderr, "safetensors_header_fuzzer: tensor \"%s\": %s\n", name.c_str(), what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  mh::llama::SafetensorsHeader header;
  try {
    header = mh::llama::parse_safetensors_header({data, size}, "fuzz.safetensors");
  } catch (const mh::Error&) {
    return 0;
  }
  if (header.data_offset < 8 || header.data_offset > size ||
      header.data_size != size - header.data_offset) {
    fail("", "the data section is not the rest of the file");
  }
  for (const auto& [name, entry] : header.entries) {
    if (entry.begin > entry.end || entry.end > header.data_size) fail(name, "bytes outside data");
    std::uint64_t bytes = mh::llama::safetensors_dtype_size(entry.dtype);
    if (bytes == 0) fail(name, "an unknown dtype was accepted");
    bool empty = false;
    for (const std::int64_t dim : entry.shape) {
      if (dim < 0) fail(name, "a negative dimension was accepted");
      empty = empty || dim == 0;
    }
    // Without a zero dimension the byte count only grows: past the file's size it is wrong.
    for (const std::int64_t dim : entry.shape) {
      if (empty) {
        bytes = 0;
        break;
      }
      if (bytes > size / static_cast<std::uint64_t>(dim)) fail(name, "more bytes than the file");
      bytes *= static_cast<std::uint64_t>(dim);
    }
    if (bytes != entry.end - entry.begin) fail(name, "the shape does not match the bytes");
    const volatile std::uint8_t* first = data + header.data_offset + entry.begin;
    std::uint8_t sum = 0;
    for (std::uint64_t i = 0; i < entry.end - entry.begin; ++i) {
      sum = static_cast<std::uint8_t>(sum + first[i]);
    }
    (void)sum;
  }
  return 0;
}
