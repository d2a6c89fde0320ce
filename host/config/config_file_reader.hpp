#pragma once
// hostd's config file (--config FILE or $MODELHOST_CONFIG), read by CLI11 as TOML: one
// `key = value` per setting, the key being a flag without its "--". CLI11 applies a file
// before the environment, and this reader puts the environment first (flag > environment >
// file > default): it drops every key whose MODELHOST_<KEY> is set. It also refuses what
// CLI11 would ignore or report without the file's name: unknown keys and [sections].
#include <CLI/CLI.hpp>
#include <set>
#include <string>
#include <vector>

namespace mh::host {

class ConfigFileReader : public CLI::ConfigTOML {
 public:
  // `app` outlives the reader (it owns it through config_formatter()).
  explicit ConfigFileReader(const CLI::App& app) : app_(app) {}

  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override;

  // The file CLI11 is reading (the --config option's value); empty before parsing.
  std::string file_name() const;
  // Whether a file was read, and every key it set (kept or overridden).
  bool was_read() const { return was_read_; }
  const std::set<std::string>& keys_read() const { return keys_read_; }

 private:
  const CLI::App& app_;
  mutable bool was_read_ = false;
  mutable std::set<std::string> keys_read_;
};

}  // namespace mh::host
