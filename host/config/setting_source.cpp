#include "config/setting_source.hpp"

#include <cctype>

namespace mh::host {

std::string_view to_string(SettingSource source) {
  switch (source) {
    case SettingSource::flag:
      return "flag";
    case SettingSource::environment:
      return "environment";
    case SettingSource::file:
      return "file";
    case SettingSource::default_value:
      return "default";
  }
  return "default";
}

std::string environment_variable_for(std::string_view key) {
  std::string name = "MODELHOST_";
  for (char c : key) {
    name += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return name;
}

SettingSource SettingOrigins::source_of(std::string_view key) const {
  auto found = by_key.find(key);
  return found == by_key.end() ? SettingSource::default_value : found->second;
}

std::string SettingOrigins::describe(std::string_view key) const {
  switch (source_of(key)) {
    case SettingSource::environment:
      return "$" + environment_variable_for(key);
    case SettingSource::file:
      return config_file.string() + ": " + std::string(key);
    case SettingSource::flag:
    case SettingSource::default_value:
      break;
  }
  return "--" + std::string(key);
}

}  // namespace mh::host
