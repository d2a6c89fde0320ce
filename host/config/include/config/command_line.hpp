#pragma once
// hostd's command line (CLI11): every flag with its help text, each also settable in the
// environment (MODELHOST_<FLAG>) and in a TOML config file (--config FILE, $MODELHOST_CONFIG;
// the key is the flag without "--"), with precedence flag > environment > file > default;
// then checks of the directories it names, with errors that name the flag, variable or key.
#include "config/host_config.hpp"

#include <stdexcept>
#include <string>
#include <variant>

namespace mh::host {

// A flag's value cannot work (a missing or unwritable directory, a bad address ...).
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What the command line asks for: run with a config, or exit at once (after --help or
// --version, or a parse error) with the given code, the text already printed, or print the
// route tables (--print-routes: the daemon knows the routes, the command line does not), or
// print the effective configuration (--print-config: `text`, after every check of parsing).
struct ExitNow {
  int code;
};
struct PrintRoutes {};
struct PrintConfig {
  std::string text;
};
using CommandLine = std::variant<HostConfig, ExitNow, PrintRoutes, PrintConfig>;

// Parses argv, the environment and the config file; prints help, version and parse errors
// itself. Touches the filesystem only to read the config file.
CommandLine parse_command_line(int argc, const char* const* argv);

// Checks and prepares the directories of `config`: the models directory must exist and be
// readable; the cache directory and the admin socket's directory are created when missing and
// must be writable. Throws ConfigError naming the flag.
void prepare_directories(HostConfig& config);

}  // namespace mh::host
