#include "safetensors.hpp"

#include "json_access.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

namespace mh::llama {

namespace bj = boost::json;

size_t safetensors_dtype_size(const std::string& dtype) {
  if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
  if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") return 2;
  if (dtype == "I8" || dtype == "U8" || dtype == "BOOL" || dtype == "F8_E4M3" || dtype == "F8_E5M2")
    return 1;
  return 0;
}

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
  if (file_size < 8) {
    ::close(fd);
    throw mh::Error(MH_INVALID_ARGUMENT, where + ": file is " + std::to_string(file_size) +
                                             " bytes, too short for a safetensors header "
                                             "(truncated file?)");
  }
  void* map = ::mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);  // the mapping keeps the file alive
  if (map == MAP_FAILED)
    throw mh::Error(MH_INTERNAL, where + ": mmap failed (" + errno_text() + ")");
  file->map_ = map;
  file->map_size_ = file_size;

  const auto* bytes = static_cast<const uint8_t*>(map);
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | bytes[i];
  if (header_size > file_size - 8)
    throw mh::Error(MH_INVALID_ARGUMENT,
                    where + ": header says " + std::to_string(header_size) +
                        " bytes but the file has only " + std::to_string(file_size - 8) +
                        " after the length (truncated or not a safetensors file)");
  const std::string_view header(reinterpret_cast<const char*>(bytes + 8), header_size);
  file->data_ = bytes + 8 + header_size;
  file->data_size_ = file_size - 8 - header_size;

  bj::object object = json::parse_object(header, where + " (header)");
  for (const auto& item : object) {
    const std::string name(item.key());
    if (name == "__metadata__") continue;
    const std::string scope = where + ": tensor \"" + name + "\"";
    if (!item.value().is_object()) throw mh::Error(MH_INVALID_ARGUMENT, scope + ": not an object");
    const bj::object& info = item.value().get_object();
    SafetensorsEntry entry;
    entry.dtype = json::required(json::get_string(info, "dtype", scope), "dtype", scope);
    const bj::value* shape = json::find(info, "shape");
    const bj::value* offsets = json::find(info, "data_offsets");
    if (shape == nullptr || !shape->is_array())
      throw mh::Error(MH_INVALID_ARGUMENT, scope + ": \"shape\" must be a list");
    if (offsets == nullptr || !offsets->is_array() || offsets->get_array().size() != 2)
      throw mh::Error(MH_INVALID_ARGUMENT, scope + ": \"data_offsets\" must be [begin, end]");
    uint64_t numel = 1;
    for (const bj::value& dim : shape->get_array()) {
      if (!dim.is_int64() && !dim.is_uint64())
        throw mh::Error(MH_INVALID_ARGUMENT, scope + ": \"shape\" must hold integers");
      if (dim.is_uint64() && dim.get_uint64() > static_cast<uint64_t>(INT64_MAX))
        throw mh::Error(MH_INVALID_ARGUMENT, scope + ": a dimension is too large");
      auto d = dim.to_number<int64_t>();
      if (d < 0) throw mh::Error(MH_INVALID_ARGUMENT, scope + ": negative dimension");
      entry.shape.push_back(d);
      // The element count must not wrap: a wrapped product could match a small data range and
      // give a view far larger than the file.
      if (d != 0 && numel > UINT64_MAX / static_cast<uint64_t>(d))
        throw mh::Error(MH_INVALID_ARGUMENT, scope + ": the shape's element count overflows");
      numel *= static_cast<uint64_t>(d);
    }
    for (const bj::value& off : offsets->get_array())
      if (!off.is_int64() && !off.is_uint64())
        throw mh::Error(MH_INVALID_ARGUMENT, scope + ": \"data_offsets\" must hold integers");
    entry.begin = offsets->get_array()[0].to_number<uint64_t>();
    entry.end = offsets->get_array()[1].to_number<uint64_t>();
    const size_t element = safetensors_dtype_size(entry.dtype);
    if (element == 0)
      throw mh::Error(MH_INVALID_ARGUMENT, scope + ": unknown dtype \"" + entry.dtype + "\"");
    if (entry.end < entry.begin)
      throw mh::Error(MH_INVALID_ARGUMENT, scope + ": data_offsets end before they begin");
    if (entry.end > file->data_size_)
      throw mh::Error(MH_INVALID_ARGUMENT,
                      scope + ": data ends at byte " + std::to_string(entry.end) +
                          " of the data section, but the file holds only " +
                          std::to_string(file->data_size_) + " bytes of data (truncated file?)");
    if (numel > UINT64_MAX / element)
      throw mh::Error(MH_INVALID_ARGUMENT, scope + ": the shape's byte count overflows");
    if (entry.end - entry.begin != numel * element)
      throw mh::Error(MH_INVALID_ARGUMENT, scope + ": " + std::to_string(entry.end - entry.begin) +
                                               " bytes do not match its shape and dtype (" +
                                               std::to_string(numel * element) + " expected)");
    file->entries_.emplace(name, std::move(entry));
  }
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
