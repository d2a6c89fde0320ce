#include "config_file_reader.hpp"

#include "config/setting_source.hpp"

#include <cstdlib>

namespace mh::host {

std::string ConfigFileReader::file_name() const {
  const CLI::Option* option = app_.get_config_ptr();
  if (option == nullptr) return {};
  if (option->count() > 0) return option->as<std::string>();
  return option->get_default_str();
}

std::vector<CLI::ConfigItem> ConfigFileReader::from_config(std::istream& input) const {
  const std::string file = file_name();
  was_read_ = true;
  std::vector<CLI::ConfigItem> items = CLI::ConfigTOML::from_config(input);
  std::vector<CLI::ConfigItem> kept;
  for (auto& item : items) {
    // CLI11 opens and closes a [section] with these two markers.
    if (item.name == "++" || item.name == "--") {
      std::string section;
      for (const auto& parent : item.parents) section += (section.empty() ? "" : ".") + parent;
      throw CLI::ConfigError(file + ": [" + section +
                             "]: hostd's settings take no sections; put every key at the top");
    }
    const CLI::Option* option =
        item.parents.empty() ? app_.get_option_no_throw("--" + item.name) : nullptr;
    if (option == nullptr || !option->get_configurable()) {
      throw CLI::ConfigError(file + ": unknown key \"" + item.fullname() +
                             "\" (the keys are hostd's flags without \"--\"; hostd --help "
                             "lists them)");
    }
    keys_read_.insert(item.name);
    const char* environment = std::getenv(environment_variable_for(item.name).c_str());
    if (environment != nullptr && *environment != '\0') continue;  // the environment wins
    kept.push_back(std::move(item));
  }
  return kept;
}

}  // namespace mh::host
