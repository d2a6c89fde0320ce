// Small typed accessors over Boost.JSON objects that name the key in every error, so each
// parser in the plugin reports "config.json: \"hidden_size\" must be an integer" the same way.
#pragma once

#include <boost/json.hpp>

#include <modelhost/plugin.hpp>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mh::llama::json {

namespace bj = boost::json;

// Parses `text` as a JSON object; throws mh::Error(`code`) naming `where` otherwise.
inline bj::object parse_object(std::string_view text, const std::string& where,
                               mh_status code = MH_INVALID_ARGUMENT) {
  boost::system::error_code ec;
  bj::value value = bj::parse(text, ec);
  if (ec) throw mh::Error(code, where + ": not valid JSON (" + ec.message() + ")");
  if (!value.is_object()) throw mh::Error(code, where + ": expected a JSON object");
  return std::move(value.as_object());
}

inline std::string describe(const bj::value& value) {
  switch (value.kind()) {
    case bj::kind::null:
      return "null";
    case bj::kind::bool_:
      return "a boolean";
    case bj::kind::string:
      return "a string";
    case bj::kind::array:
      return "an array";
    case bj::kind::object:
      return "an object";
    default:
      return "the number " + bj::serialize(value);
  }
}

[[noreturn]] inline void fail(const std::string& where, std::string_view key,
                              const std::string& expectation, const bj::value& got) {
  throw mh::Error(MH_INVALID_ARGUMENT, where + ": \"" + std::string(key) + "\" must be " +
                                           expectation + ", got " + describe(got));
}

// The value at `key`, or nullptr when absent or null.
inline const bj::value* find(const bj::object& object, std::string_view key) {
  auto it = object.find(key);
  if (it == object.end() || it->value().is_null()) return nullptr;
  return &it->value();
}

inline std::optional<double> get_number(const bj::object& object, std::string_view key,
                                        const std::string& where) {
  const bj::value* value = find(object, key);
  if (value == nullptr) return std::nullopt;
  if (value->is_double()) return value->get_double();
  if (value->is_int64()) return static_cast<double>(value->get_int64());
  if (value->is_uint64()) return static_cast<double>(value->get_uint64());
  fail(where, key, "a number", *value);
}

inline std::optional<int64_t> get_int(const bj::object& object, std::string_view key,
                                      const std::string& where) {
  const bj::value* value = find(object, key);
  if (value == nullptr) return std::nullopt;
  if (value->is_int64()) return value->get_int64();
  if (value->is_uint64() && value->get_uint64() <= static_cast<uint64_t>(INT64_MAX))
    return static_cast<int64_t>(value->get_uint64());
  if (value->is_double()) {
    double d = value->get_double();
    if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9.0e15)
      return static_cast<int64_t>(d);
  }
  fail(where, key, "an integer", *value);
}

inline std::optional<bool> get_bool(const bj::object& object, std::string_view key,
                                    const std::string& where) {
  const bj::value* value = find(object, key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_bool()) fail(where, key, "true or false", *value);
  return value->get_bool();
}

inline std::optional<std::string> get_string(const bj::object& object, std::string_view key,
                                             const std::string& where) {
  const bj::value* value = find(object, key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_string()) fail(where, key, "a string", *value);
  return std::string(value->get_string());
}

template <typename T>
T required(std::optional<T> value, std::string_view key, const std::string& where) {
  if (!value)
    throw mh::Error(MH_INVALID_ARGUMENT, where + ": \"" + std::string(key) + "\" is missing");
  return *value;
}

}  // namespace mh::llama::json
