#pragma once
// Private to the model component: reading one model.json value into a native type, failing
// with the file, the key and the bad value (manifest.cpp, manifest_isolation.cpp).
#include "model/manifest.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace mh::host::manifest_fields {

// A JSON value as it appears in the file, shortened, for error messages.
std::string quote_value(const boost::json::value& value);

// Throws ManifestError: `file: "key" must be EXPECTED, got VALUE`.
[[noreturn]] void fail(std::string_view file, std::string_view key, std::string_view expected,
                       const boost::json::value& got);

std::string read_string(std::string_view file, std::string_view key,
                        const boost::json::value& value);

// An integer in [minimum, maximum]; JSON numbers like 5.0 count as integers, 5.5 does not.
std::uint64_t read_integer(std::string_view file, std::string_view key,
                           const boost::json::value& value, std::uint64_t minimum,
                           std::uint64_t maximum, std::string_view expected);

// The keys of model.json about isolation ("isolation", "restart", "limits",
// "stuck_grace_ms"): true when `key` is one of them (and was read into `parsed`).
bool read_isolation_key(std::string_view file, const std::string& key,
                        const boost::json::value& value, ParsedManifest& parsed);
// Checks made once every key was read (e.g. limits on an in-process model: a warning).
void check_isolation_keys(std::string_view file, bool has_limits, ParsedManifest& parsed);

}  // namespace mh::host::manifest_fields
