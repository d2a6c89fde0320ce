// The header of a .safetensors file, read from its bytes: an 8-byte little-endian header length,
// a JSON header {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}},
// then the raw tensor bytes. No libtorch here: a model file is untrusted input, and this is the
// part of it that is parsed (and fuzzed, tests/fuzz/safetensors_header_fuzzer.cpp); safetensors.hpp
// maps what it accepts onto tensors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace mh::llama {

struct SafetensorsEntry {
  std::string dtype;  // "BF16", "F16", "F32", ...
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets into the data section
  uint64_t end = 0;
};

struct SafetensorsHeader {
  uint64_t data_offset = 0;  // where the data section starts in the file: 8 + the JSON's size
  uint64_t data_size = 0;    // the bytes after it
  std::map<std::string, SafetensorsEntry> entries;
};

// Throws mh::Error (MH_INVALID_ARGUMENT, naming `where`) when a file of `file_size` bytes is too
// short to hold the 8-byte header length.
void check_safetensors_size(uint64_t file_size, const std::string& where);

// Validates `file` (the whole file's bytes): the header length fits, the JSON parses, and every
// tensor has a known dtype, non-negative dimensions whose byte count does not overflow, and
// offsets that lie inside the data section and match its shape and dtype. Throws mh::Error
// naming `where` (the file) and the tensor. Every accepted entry's [begin, end) lies inside
// [0, data_size).
SafetensorsHeader parse_safetensors_header(std::span<const uint8_t> file, const std::string& where);

// The byte size of one element of a safetensors dtype name; 0 for an unknown one.
size_t safetensors_dtype_size(const std::string& dtype);

}  // namespace mh::llama
