// A memory-mapped .safetensors file: an 8-byte little-endian header length, a JSON header
// {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}, then the
// raw tensor bytes. The header is read by safetensors_header.hpp (no libtorch there); tensors are
// handed out as CPU views of the mapping, without copying.
#pragma once

#include "safetensors_header.hpp"

#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

namespace mh::llama {

class SafetensorsFile : public std::enable_shared_from_this<SafetensorsFile> {
 public:
  // Maps and validates the file: the header parses, every tensor's offsets lie inside the
  // file and match its shape and dtype. Throws mh::Error naming the file and the tensor.
  static std::shared_ptr<SafetensorsFile> open(const std::filesystem::path& path);

  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  const std::map<std::string, SafetensorsEntry>& entries() const { return entries_; }
  bool contains(const std::string& name) const { return entries_.count(name) != 0; }

  // A CPU tensor viewing the mapped bytes; it keeps the mapping alive. Read-only in practice:
  // copy (e.g. `.to(...)`) before changing it.
  at::Tensor tensor(const std::string& name);

 private:
  SafetensorsFile() = default;

  std::filesystem::path path_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  const uint8_t* data_ = nullptr;  // start of the data section
  uint64_t data_size_ = 0;
  std::map<std::string, SafetensorsEntry> entries_;
};

}  // namespace mh::llama
