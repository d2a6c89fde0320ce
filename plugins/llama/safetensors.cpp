#include "safetensors.hpp"

#include <modelhost/plugin.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>

namespace mh::llama {

namespace {

at::ScalarType scalar_type_of(const std::string& dtype, const std::string& where) {
  if (dtype == "BF16") return at::kBFloat16;
  if (dtype == "F16") return at::kHalf;
  if (dtype == "F32") return at::kFloat;
  if (dtype == "F64") return at::kDouble;
  if (dtype == "I64") return at::kLong;
  if (dtype == "I32") return at::kInt;
  if (dtype == "I16") return at::kShort;
  if (dtype == "I8") return at::kChar;
  if (dtype == "U8") return at::kByte;
  if (dtype == "BOOL") return at::kBool;
  throw mh::Error(MH_INVALID_ARGUMENT, where + ": dtype " + dtype + " is not supported");
}

std::string errno_text() {
  return std::strerror(errno);
}

}  // namespace

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::filesystem::path& path) {
  const std::string where = path.string();
  std::shared_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = path;

  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw mh::Error(MH_NOT_FOUND, where + ": cannot open (" + errno_text() + ")");
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    std::string why = errno_text();
    ::close(fd);
    throw mh::Error(MH_INTERNAL, where + ": cannot stat (" + why + ")");
  }
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < 8) {  // refused before mapping: mmap cannot map an empty file
    ::close(fd);
    check_safetensors_size(file_size, where);  // throws
  }
  void* map = ::mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);  // the mapping keeps the file alive
  if (map == MAP_FAILED)
    throw mh::Error(MH_INTERNAL, where + ": mmap failed (" + errno_text() + ")");
  file->map_ = map;
  file->map_size_ = file_size;

  const auto* bytes = static_cast<const uint8_t*>(map);
  SafetensorsHeader header = parse_safetensors_header({bytes, file_size}, where);
  file->data_ = bytes + header.data_offset;
  file->data_size_ = header.data_size;
  file->entries_ = std::move(header.entries);
  return file;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_ != nullptr) ::munmap(map_, map_size_);
}

at::Tensor SafetensorsFile::tensor(const std::string& name) {
  auto it = entries_.find(name);
  if (it == entries_.end())
    throw mh::Error(MH_NOT_FOUND, path_.string() + ": no tensor \"" + name + "\"");
  const SafetensorsEntry& entry = it->second;
  const at::ScalarType type =
      scalar_type_of(entry.dtype, path_.string() + ": tensor \"" + name + "\"");
  // from_blob wants a mutable pointer; nothing writes through it (MAP_PRIVATE + PROT_READ
  // would fault if something did). The deleter keeps the mapping alive while the view lives.
  void* data = const_cast<uint8_t*>(data_ + entry.begin);
  std::shared_ptr<SafetensorsFile> keep = shared_from_this();
  return at::from_blob(
      data, entry.shape, [keep](void*) mutable { keep.reset(); },
      at::TensorOptions().dtype(type).device(at::kCPU));
}

}  // namespace mh::llama
