// Reading one model.json value into a native type, with errors that name the file, the key and
// the value (manifest_fields.hpp).
#include "manifest_fields.hpp"

#include <boost/json/serialize.hpp>

#include <limits>

namespace mh::host::manifest_fields {

namespace json = boost::json;

// A JSON value as it appears in the file, shortened, for error messages.
std::string quote_value(const json::value& value) {
  std::string text = json::serialize(value);
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

[[noreturn]] void fail(std::string_view file, std::string_view key, std::string_view expected,
                       const json::value& got) {
  throw ManifestError(std::string(file) + ": \"" + std::string(key) + "\" must be " +
                      std::string(expected) + ", got " + quote_value(got));
}

std::string read_string(std::string_view file, std::string_view key, const json::value& value) {
  if (!value.is_string() || value.as_string().empty()) fail(file, key, "a non-empty string", value);
  return std::string(value.as_string());
}

// An integer in [minimum, maximum]; JSON numbers like 5.0 count as integers, 5.5 does not.
std::uint64_t read_integer(std::string_view file, std::string_view key, const json::value& value,
                           std::uint64_t minimum, std::uint64_t maximum,
                           std::string_view expected) {
  std::uint64_t result = 0;
  if (value.is_uint64()) {
    result = value.as_uint64();
  } else if (value.is_int64() && value.as_int64() >= 0) {
    result = static_cast<std::uint64_t>(value.as_int64());
  } else if (value.is_double() && value.as_double() >= 0 &&
             value.as_double() <= static_cast<double>(std::numeric_limits<std::int64_t>::max()) &&
             value.as_double() ==
                 static_cast<double>(static_cast<std::uint64_t>(value.as_double()))) {
    result = static_cast<std::uint64_t>(value.as_double());
  } else {
    fail(file, key, expected, value);
  }
  if (result < minimum || result > maximum) fail(file, key, expected, value);
  return result;
}

}  // namespace mh::host::manifest_fields
