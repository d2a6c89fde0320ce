#pragma once
// Where each of hostd's settings came from. Every flag can also be set in the environment
// (MODELHOST_<FLAG>, e.g. --cache-dir -> MODELHOST_CACHE_DIR) and in the config file (the flag
// without its "--", e.g. cache-dir = "/var/practicus/cache"); the first of these that sets a
// value wins: flag > environment > file > default.
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

namespace mh::host {

enum class SettingSource { flag, environment, file, default_value };

// "flag", "environment", "file", "default".
std::string_view to_string(SettingSource source);

// The environment variable of a setting: "cache-dir" -> "MODELHOST_CACHE_DIR".
std::string environment_variable_for(std::string_view key);

struct SettingOrigins {
  std::filesystem::path config_file;  // the file read (--config, $MODELHOST_CONFIG); empty: none
  std::map<std::string, SettingSource, std::less<>> by_key;  // key: the flag without "--"

  SettingSource source_of(std::string_view key) const;
  // How a user finds the value in error messages: "--cache-dir", "$MODELHOST_CACHE_DIR",
  // "/etc/modelhost/hostd.conf: cache-dir", or "--cache-dir" for a default.
  std::string describe(std::string_view key) const;
};

}  // namespace mh::host
