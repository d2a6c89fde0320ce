// hostd's settings from flags, the environment (MODELHOST_<FLAG>) and the config file
// (--config, $MODELHOST_CONFIG): which one wins, what the existing variables still do, and
// that a bad key or value names the file (or variable) and the key.
#include "config/command_line.hpp"

#include <doctest/doctest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using mh::host::CommandLine;
using mh::host::ExitNow;
using mh::host::HostConfig;
using mh::host::PrintConfig;
using mh::host::SettingSource;

namespace {

// Every variable hostd reads for its settings, cleared for a test and restored after it, so
// that the environment the tests run in cannot change what they see.
class CleanEnvironment {
 public:
  CleanEnvironment() {
    for (const char* name :
         {"MODELHOST_CONFIG", "MODELHOST_MODELS_DIR", "MODELHOST_LISTEN", "MODELHOST_ADMIN_SOCKET",
          "MODELHOST_ADMIN_LISTEN", "MODELHOST_ADMIN_TOKEN", "MODELHOST_CACHE_DIR",
          "MODELHOST_STORAGE", "MODELHOST_LOG_LEVEL", "MODELHOST_PLUGIN_DIR",
          "MODELHOST_MAX_BODY_BYTES", "MODELHOST_API_KEY", "MODELHOST_DRAIN_TIMEOUT_MS",
          "MODELHOST_DEFAULT_ISOLATION", "MODELHOST_HTTP_THREADS", "MODELHOST_WORKER_THREADS"}) {
      if (const char* value = std::getenv(name)) saved_[name] = value;
      ::unsetenv(name);
    }
  }
  ~CleanEnvironment() {
    for (const auto& name : set_) ::unsetenv(name.c_str());
    for (const auto& [name, value] : saved_) ::setenv(name.c_str(), value.c_str(), 1);
  }
  void set(const std::string& name, const std::string& value) {
    ::setenv(name.c_str(), value.c_str(), 1);
    set_.push_back(name);
  }

 private:
  std::map<std::string, std::string> saved_;
  std::vector<std::string> set_;
};

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "mh-config-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  fs::path write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name) << text;
    return path_ / name;
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

struct Parsed {
  CommandLine result;
  std::string errors;  // what hostd printed to stderr
};

Parsed parse(std::vector<std::string> args) {
  args.insert(args.begin(), "hostd");
  std::vector<const char*> argv;
  for (const auto& arg : args) argv.push_back(arg.c_str());
  std::ostringstream captured;
  std::streambuf* saved = std::cerr.rdbuf(captured.rdbuf());
  CommandLine result = mh::host::parse_command_line(static_cast<int>(argv.size()), argv.data());
  std::cerr.rdbuf(saved);
  return {std::move(result), captured.str()};
}

HostConfig config_of(const Parsed& parsed) {
  INFO("stderr: " << parsed.errors);
  REQUIRE(std::holds_alternative<HostConfig>(parsed.result));
  return std::get<HostConfig>(parsed.result);
}

int exit_code_of(const Parsed& parsed) {
  REQUIRE(std::holds_alternative<ExitNow>(parsed.result));
  return std::get<ExitNow>(parsed.result).code;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_SUITE("precedence") {
  TEST_CASE("a default when nothing sets the value") {
    CleanEnvironment environment;
    const HostConfig config = config_of(parse({"--models-dir", "/srv/models"}));
    CHECK(config.listen.to_string() == "127.0.0.1:8080");
    CHECK(config.log_level == "info");
    CHECK(config.origins.source_of("listen") == SettingSource::default_value);
    CHECK(config.origins.source_of("models-dir") == SettingSource::flag);
    CHECK(config.origins.config_file.empty());
  }

  TEST_CASE("the file over the default, the environment over the file, a flag over both") {
    CleanEnvironment environment;
    TempDir temp;
    const fs::path file = temp.write("hostd.conf",
                                     "# comment\n"
                                     "models-dir = \"/srv/from-file\"\n"
                                     "listen = \"127.0.0.1:9001\"\n"
                                     "log-level = \"debug\"\n"
                                     "max-body-bytes = 4096\n"
                                     "plugin-dir = [\"/opt/a\", \"/opt/b\"]\n");
    {
      const HostConfig config = config_of(parse({"--config", file.string()}));
      CHECK(config.models_dir == "/srv/from-file");
      CHECK(config.listen.to_string() == "127.0.0.1:9001");
      CHECK(config.log_level == "debug");
      CHECK(config.max_body_bytes == 4096);
      CHECK(config.plugin_dirs == std::vector<fs::path>{"/opt/a", "/opt/b"});
      CHECK(config.origins.source_of("listen") == SettingSource::file);
      CHECK(config.origins.config_file == file);
    }
    environment.set("MODELHOST_LISTEN", "127.0.0.1:9002");
    environment.set("MODELHOST_MAX_BODY_BYTES", "8192");
    {
      const HostConfig config = config_of(parse({"--config", file.string()}));
      CHECK(config.listen.to_string() == "127.0.0.1:9002");
      CHECK(config.max_body_bytes == 8192);
      CHECK(config.log_level == "debug");  // still the file's
      CHECK(config.origins.source_of("listen") == SettingSource::environment);
      CHECK(config.origins.source_of("log-level") == SettingSource::file);
    }
    {
      const HostConfig config = config_of(
          parse({"--config", file.string(), "--listen", "127.0.0.1:9003", "--max-body-bytes=99"}));
      CHECK(config.listen.to_string() == "127.0.0.1:9003");
      CHECK(config.max_body_bytes == 99);
      CHECK(config.origins.source_of("listen") == SettingSource::flag);
      CHECK(config.origins.source_of("max-body-bytes") == SettingSource::flag);
    }
  }

  TEST_CASE("MODELHOST_CONFIG names the file; --config wins over it") {
    CleanEnvironment environment;
    TempDir temp;
    const fs::path first = temp.write("first.conf", "models-dir = \"/srv/first\"\n");
    const fs::path second = temp.write("second.conf", "models-dir = \"/srv/second\"\n");
    environment.set("MODELHOST_CONFIG", first.string());
    CHECK(config_of(parse({})).models_dir == "/srv/first");
    CHECK(config_of(parse({"--config", second.string()})).models_dir == "/srv/second");
  }

  TEST_CASE("the variables hostd read before keep working") {
    CleanEnvironment environment;
    environment.set("MODELHOST_ADMIN_SOCKET", "/run/test/admin.sock");
    environment.set("MODELHOST_DEFAULT_ISOLATION", "none");
    environment.set("MODELHOST_API_KEY", "k3y");
    environment.set("MODELHOST_ADMIN_TOKEN", "t0ken");
    const HostConfig config =
        config_of(parse({"--models-dir", "/srv/models", "--admin-listen", "127.0.0.1:9100"}));
    CHECK(config.admin_socket == "/run/test/admin.sock");
    CHECK_FALSE(config.admin_socket_dir_is_default);
    CHECK(config.default_isolation == "none");
    CHECK(config.api_key == "k3y");
    CHECK(config.admin_token == "t0ken");
    REQUIRE(config.admin_listen.has_value());
    CHECK(config.admin_listen->to_string() == "127.0.0.1:9100");
  }

  TEST_CASE("the default admin socket's folder is hostd's own only when nothing named it") {
    CleanEnvironment environment;
    TempDir temp;
    CHECK(config_of(parse({"--models-dir", "/srv/models"})).admin_socket_dir_is_default);
    const fs::path file = temp.write("hostd.conf", "admin-socket = \"/run/x/admin.sock\"\n");
    const HostConfig config =
        config_of(parse({"--models-dir", "/srv/models", "--config", file.string()}));
    CHECK(config.admin_socket == "/run/x/admin.sock");
    CHECK_FALSE(config.admin_socket_dir_is_default);
  }
}

TEST_SUITE("config_file_errors") {
  TEST_CASE("an unknown key names the file and the key") {
    CleanEnvironment environment;
    TempDir temp;
    const fs::path file =
        temp.write("hostd.conf", "models-dir = \"/srv/models\"\nlisten-adress = \"x\"\n");
    const Parsed parsed = parse({"--config", file.string()});
    CHECK(exit_code_of(parsed) != 0);
    CHECK(contains(parsed.errors, file.string()));
    CHECK(contains(parsed.errors, "\"listen-adress\""));
  }

  TEST_CASE("a section names the file") {
    CleanEnvironment environment;
    TempDir temp;
    const fs::path file = temp.write("hostd.conf", "[server]\nlisten = \"127.0.0.1:1\"\n");
    const Parsed parsed = parse({"--models-dir", "/srv/models", "--config", file.string()});
    CHECK(exit_code_of(parsed) != 0);
    CHECK(contains(parsed.errors, file.string()));
    CHECK(contains(parsed.errors, "server"));
  }

  TEST_CASE("a bad value from the file names the file and the key") {
    CleanEnvironment environment;
    TempDir temp;
    const fs::path file =
        temp.write("hostd.conf", "models-dir = \"/srv/models\"\nlog-level = \"loud\"\n");
    const Parsed parsed = parse({"--config", file.string()});
    CHECK(exit_code_of(parsed) != 0);
    CHECK(contains(parsed.errors, file.string() + ": log-level"));
    CHECK(contains(parsed.errors, "loud"));

    const fs::path listen = temp.write("listen.conf", "listen = \"nowhere\"\n");
    const Parsed bad_listen = parse({"--models-dir", "/srv/models", "--config", listen.string()});
    CHECK(exit_code_of(bad_listen) == 2);
    CHECK(contains(bad_listen.errors, listen.string() + ": listen"));
  }

  TEST_CASE("a bad value from the environment names the variable") {
    CleanEnvironment environment;
    environment.set("MODELHOST_MAX_BODY_BYTES", "ten");
    const Parsed parsed = parse({"--models-dir", "/srv/models"});
    CHECK(exit_code_of(parsed) != 0);
    CHECK(contains(parsed.errors, "$MODELHOST_MAX_BODY_BYTES"));
  }

  TEST_CASE("a missing file is an error, named") {
    CleanEnvironment environment;
    TempDir temp;
    const std::string missing = (temp.path() / "nope.conf").string();
    const Parsed by_flag = parse({"--models-dir", "/srv/models", "--config", missing});
    CHECK(exit_code_of(by_flag) != 0);
    CHECK(contains(by_flag.errors, missing));
    environment.set("MODELHOST_CONFIG", missing);
    const Parsed by_variable = parse({"--models-dir", "/srv/models"});
    CHECK(exit_code_of(by_variable) == 2);
    CHECK(contains(by_variable.errors, "$MODELHOST_CONFIG=" + missing));
  }

  TEST_CASE("options that are not settings cannot be set in the file") {
    CleanEnvironment environment;
    TempDir temp;
    const fs::path file = temp.write("hostd.conf", "print-routes = true\n");
    const Parsed parsed = parse({"--models-dir", "/srv/models", "--config", file.string()});
    CHECK(exit_code_of(parsed) != 0);
    CHECK(contains(parsed.errors, "\"print-routes\""));
  }
}

TEST_SUITE("print_config") {
  TEST_CASE("every value with its source, secrets hidden") {
    CleanEnvironment environment;
    TempDir temp;
    const fs::path file = temp.write("hostd.conf",
                                     "models-dir = \"/srv/models\"\nlisten = \"127.0.0.1:9001\"\n"
                                     "api-key = \"s3cret\"\n");
    environment.set("MODELHOST_LOG_LEVEL", "warn");
    const Parsed parsed =
        parse({"--config", file.string(), "--print-config", "--drain-timeout-ms", "1234"});
    INFO("stderr: " << parsed.errors);
    REQUIRE(std::holds_alternative<PrintConfig>(parsed.result));
    const std::string& text = std::get<PrintConfig>(parsed.result).text;
    INFO(text);
    CHECK(contains(text, "# config file: " + file.string()));
    CHECK(contains(text, "listen = \"127.0.0.1:9001\"  # file\n"));
    CHECK(contains(text, "log-level = \"warn\"  # environment $MODELHOST_LOG_LEVEL\n"));
    CHECK(contains(text, "drain-timeout-ms = 1234  # flag\n"));
    CHECK(contains(text, "max-body-bytes = 1048576  # default\n"));
    CHECK_FALSE(contains(text, "s3cret"));
  }

  TEST_CASE("what it prints reads back as a config file") {
    CleanEnvironment environment;
    TempDir temp;
    const Parsed printed = parse({"--models-dir", "/srv/models", "--listen", "127.0.0.1:9005",
                                  "--plugin-dir", "/opt/p", "--print-config"});
    REQUIRE(std::holds_alternative<PrintConfig>(printed.result));
    const fs::path file = temp.write("printed.conf", std::get<PrintConfig>(printed.result).text);
    const HostConfig config = config_of(parse({"--config", file.string()}));
    CHECK(config.models_dir == "/srv/models");
    CHECK(config.listen.to_string() == "127.0.0.1:9005");
    CHECK(config.plugin_dirs == std::vector<fs::path>{"/opt/p"});
  }
}
