#include "safetensors_header.hpp"

#include "json_access.hpp"

#include <cstdint>
#include <string_view>
#include <utility>

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

void check_safetensors_size(uint64_t file_size, const std::string& where) {
  if (file_size < 8)
    throw mh::Error(MH_INVALID_ARGUMENT, where + ": file is " + std::to_string(file_size) +
                                             " bytes, too short for a safetensors header "
                                             "(truncated file?)");
}

namespace {

SafetensorsEntry parse_entry(const bj::value& value, uint64_t data_size, const std::string& scope) {
  if (!value.is_object()) throw mh::Error(MH_INVALID_ARGUMENT, scope + ": not an object");
  const bj::object& info = value.get_object();
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
  for (const bj::value& off : offsets->get_array()) {
    if (!off.is_int64() && !off.is_uint64())
      throw mh::Error(MH_INVALID_ARGUMENT, scope + ": \"data_offsets\" must hold integers");
    // to_number<uint64_t> would throw boost's system_error, not an error naming the tensor.
    if (off.is_int64() && off.get_int64() < 0)
      throw mh::Error(MH_INVALID_ARGUMENT, scope + ": negative data_offsets");
  }
  entry.begin = offsets->get_array()[0].to_number<uint64_t>();
  entry.end = offsets->get_array()[1].to_number<uint64_t>();
  const size_t element = safetensors_dtype_size(entry.dtype);
  if (element == 0)
    throw mh::Error(MH_INVALID_ARGUMENT, scope + ": unknown dtype \"" + entry.dtype + "\"");
  if (entry.end < entry.begin)
    throw mh::Error(MH_INVALID_ARGUMENT, scope + ": data_offsets end before they begin");
  if (entry.end > data_size)
    throw mh::Error(MH_INVALID_ARGUMENT,
                    scope + ": data ends at byte " + std::to_string(entry.end) +
                        " of the data section, but the file holds only " +
                        std::to_string(data_size) + " bytes of data (truncated file?)");
  if (numel > UINT64_MAX / element)
    throw mh::Error(MH_INVALID_ARGUMENT, scope + ": the shape's byte count overflows");
  if (entry.end - entry.begin != numel * element)
    throw mh::Error(MH_INVALID_ARGUMENT, scope + ": " + std::to_string(entry.end - entry.begin) +
                                             " bytes do not match its shape and dtype (" +
                                             std::to_string(numel * element) + " expected)");
  return entry;
}

}  // namespace

SafetensorsHeader parse_safetensors_header(std::span<const uint8_t> file,
                                           const std::string& where) {
  const uint64_t file_size = file.size();
  check_safetensors_size(file_size, where);
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | file[static_cast<size_t>(i)];
  if (header_size > file_size - 8)
    throw mh::Error(MH_INVALID_ARGUMENT,
                    where + ": header says " + std::to_string(header_size) +
                        " bytes but the file has only " + std::to_string(file_size - 8) +
                        " after the length (truncated or not a safetensors file)");
  const std::string_view text(reinterpret_cast<const char*>(file.data() + 8), header_size);
  SafetensorsHeader header;
  header.data_offset = 8 + header_size;
  header.data_size = file_size - 8 - header_size;

  bj::object object = json::parse_object(text, where + " (header)");
  for (const auto& item : object) {
    const std::string name(item.key());
    if (name == "__metadata__") continue;
    const std::string scope = where + ": tensor \"" + name + "\"";
    header.entries.emplace(name, parse_entry(item.value(), header.data_size, scope));
  }
  return header;
}

}  // namespace mh::llama
