// A memory-mapped .safetensors file: an 8-byte little-endian header length, a JSON header
// {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}, then the
// raw tensor bytes. Tensors are handed out as CPU views of the mapping, without copying.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mh::llama {

struct SafetensorsEntry {
  std::string dtype;  // "BF16", "F16", "F32", ...
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets into the data section
  uint64_t end = 0;
};

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

// The byte size of one element of a safetensors dtype name; 0 for an unknown one.
size_t safetensors_dtype_size(const std::string& dtype);

}  // namespace mh::llama
