// hostctl against a real hostd: each test starts hostd (support/hostd_process.hpp) and runs the
// hostctl binary as an operator would, checking its output and exit code.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <modelhost/version.h>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "hostctl_command.hpp"
#include "support/hostd_process.hpp"
#include "support/temp_dir.hpp"

using namespace mh::e2e;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// hostctl pointed at `hostd`'s admin socket.
CommandResult hostctl(const HostdProcess& hostd, std::vector<std::string> args,
                      CommandOptions options = {}) {
  args.insert(args.begin(), {"--admin-socket", hostd.admin_socket().string()});
  return run_hostctl(args, std::move(options));
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The words of the table row that starts with `name`, empty when there is none.
std::vector<std::string> status_row(const std::string& status_output, const std::string& name) {
  for (const auto& line : lines_of(status_output)) {
    std::istringstream words(line);
    std::vector<std::string> row;
    for (std::string word; words >> word;) row.push_back(word);
    if (!row.empty() && row[0] == name) return row;
  }
  return {};
}

void write_file(const fs::path& path, std::string_view text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  REQUIRE(out.good());
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string random_bytes(std::size_t size, unsigned seed) {
  std::mt19937 generator(seed);
  std::string bytes(size, '\0');
  for (auto& byte : bytes) byte = static_cast<char>(generator());
  return bytes;
}

void require_ok(const CommandResult& result) {
  INFO(result.describe());
  REQUIRE(result.exit_code == 0);
}

}  // namespace

TEST_CASE("init_build_reload_predict") {
  // hostctl init, built out of tree against the SDK installed into a temp prefix, dropped into a
  // running hostd's models directory, reloaded: it answers predict.
  TempDir work("mh-init");
  HostdProcess hostd;
  require_ok(run_hostctl({"init", "demo", "--dir", work.path().string()}));
  const fs::path project = work / "demo";
  require_ok(run_command({MH_CMAKE_COMMAND, "--install", MH_BUILD_DIR, "--component", "sdk",
                          "--prefix", (work / "prefix").string()}));
  require_ok(
      run_command({MH_CMAKE_COMMAND, "-S", project.string(), "-B", (project / "build").string(),
                   "-DCMAKE_PREFIX_PATH=" + (work / "prefix").string(),
                   "-DCMAKE_CXX_COMPILER=" MH_CXX_COMPILER}));
  require_ok(run_command({MH_CMAKE_COMMAND, "--build", (project / "build").string()}));
  REQUIRE(fs::exists(project / "libdemo.so"));  // where model.json expects it

  const fs::path model_dir = hostd.models_dir() / "demo";
  fs::create_directories(model_dir);
  copy_file_atomically(project / "model.json", model_dir / "model.json");
  copy_file_atomically(project / "libdemo.so", model_dir / "libdemo.so");

  const CommandResult reload = hostctl(hostd, {"reload", "--wait"});
  require_ok(reload);
  const auto row = status_row(reload.out, "demo");
  REQUIRE(row.size() >= 3);
  CHECK(row[1] == "added");
  CHECK(row[2] == "ready");

  const CommandResult predict = hostctl(hostd, {"predict", "demo", "-d", R"({"text": "hi"})"});
  require_ok(predict);
  const json::value reply = json::parse(predict.out);
  CHECK(reply.at("greeting").as_string() == "Hello from demo!");
  CHECK(reply.at("model").as_string() == "demo");
  CHECK(reply.at("input").at("text").as_string() == "hi");
  CHECK(reply.at("config").as_object().empty());
  CHECK(reply.at("request").as_int64() == 1);

  const CommandResult stream =
      hostctl(hostd, {"predict", "demo", "-d", R"({"text": "hi"})", "--stream"});
  require_ok(stream);
  INFO(stream.out);
  CHECK(contains(stream.out, R"({"token": "Hello"})"));
  CHECK(contains(stream.out, R"({"token": "demo"})"));

  const CommandResult status = hostctl(hostd, {"status"});
  require_ok(status);
  const auto demo = status_row(status.out, "demo");
  REQUIRE(demo.size() >= 5);
  CHECK(demo[1] == "ready");
  CHECK(demo[3] == "demo");
  CHECK(demo[4] == "0.1.0");
}

TEST_CASE("status_echo_ready") {
  // An empty models directory, then echo dropped in and `hostctl reload`: status shows it ready.
  HostdProcess hostd;
  const CommandResult empty = hostctl(hostd, {"status"});
  require_ok(empty);
  CHECK(contains(empty.out, "no models"));
  CHECK(contains(empty.out, hostd.models_dir().string()));

  install_echo_model(hostd.models_dir(), "echo");
  const CommandResult reload = hostctl(hostd, {"reload"});
  require_ok(reload);
  const auto change = status_row(reload.out, "echo");
  REQUIRE(change.size() >= 2);
  CHECK(change[1] == "added");

  CommandResult status;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  do {
    status = hostctl(hostd, {"status"});
    require_ok(status);
    const auto row = status_row(status.out, "echo");
    if (row.size() >= 2 && row[1] == "ready") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (std::chrono::steady_clock::now() < give_up);
  INFO(status.out);
  const auto lines = lines_of(status.out);
  REQUIRE(lines.size() >= 4);
  CHECK(lines[0].rfind("hostd ", 0) == 0);
  CHECK(lines[2].rfind("NAME", 0) == 0);
  for (const char* column : {"STATE", "GEN", "PLUGIN", "VERSION", "IN-FLIGHT", "SYNC", "MODE",
                             "PID", "RESTARTS", "STUCK", "ERROR"})
    CHECK(contains(lines[2], column));
  const auto row = status_row(status.out, "echo");
  REQUIRE(row.size() == 12);
  CHECK(row[1] == "ready");
  CHECK(row[2] == "1");
  CHECK(row[4] == MODELHOST_VERSION);
  CHECK(row[5] == "0");                              // in flight
  CHECK((row[7] == "process" || row[7] == "none"));  // mode (hostd --default-isolation)
  CHECK(row[9] == "0");                              // restarts
  CHECK(row[10] == "0");                             // stuck
  CHECK(row[11] == "-");                             // no error
}

TEST_CASE("status_json") {
  HostdProcess hostd;
  install_echo_model(hostd.models_dir(), "echo");
  require_ok(hostctl(hostd, {"reload", "--wait"}));
  const CommandResult status = hostctl(hostd, {"status", "--json"});
  require_ok(status);
  INFO(status.out);
  const json::value parsed = json::parse(status.out);
  CHECK(parsed.at("hostd").at("pid").to_number<long>() == hostd.pid());
  const auto& models = parsed.at("models").as_array();
  REQUIRE(models.size() == 1);
  CHECK(models[0].at("name").as_string() == "echo");
  CHECK(models[0].at("state").as_string() == "ready");
}

TEST_CASE("not_running") {
  // No hostd behind the socket: exit 3, and the message names the path and how to set it.
  TempDir dir("mh-nohostd");
  const std::string socket = (dir / "admin.sock").string();
  const std::vector<std::vector<std::string>> commands = {
      {"status"},           {"status", "--json"},
      {"reload", "--wait"}, {"predict", "echo", "-d", "{}"},
      {"unload", "echo"},   {"sync", "echo"}};
  for (const auto& command : commands) {
    std::vector<std::string> args = {"--admin-socket", socket};
    args.insert(args.end(), command.begin(), command.end());
    const CommandResult result = run_hostctl(args);
    INFO(result.describe());
    CHECK(result.exit_code == 3);
    CHECK(contains(result.err, "hostd is not running"));
    CHECK(contains(result.err, socket));
    CHECK(contains(result.err, "--admin-socket PATH or MODELHOST_ADMIN_SOCKET=PATH"));
    CHECK(result.out.empty());
  }
  // The environment variable, and the default under $XDG_RUNTIME_DIR, say where they came from.
  CommandOptions from_env;
  from_env.env = {{"MODELHOST_ADMIN_SOCKET", socket}};
  const CommandResult env = run_hostctl({"status"}, from_env);
  CHECK(env.exit_code == 3);
  CHECK(contains(env.err, "came from MODELHOST_ADMIN_SOCKET"));
  CommandOptions by_default;
  by_default.env = {{"XDG_RUNTIME_DIR", dir.path().string()}};
  const CommandResult fallback = run_hostctl({"status"}, by_default);
  CHECK(fallback.exit_code == 3);
  CHECK(contains(fallback.err, (dir / "modelhost" / "admin.sock").string()));
  CHECK(contains(fallback.err, "default path"));

  // A hostd that was running and stopped.
  HostdProcess hostd;
  require_ok(hostctl(hostd, {"status"}));
  CHECK(hostd.stop() == 0);
  const CommandResult stopped = hostctl(hostd, {"status"});
  INFO(stopped.describe());
  CHECK(stopped.exit_code == 3);
  CHECK(contains(stopped.err, "hostd is not running"));
}

TEST_CASE("init_refuses") {
  TempDir dir("mh-initref");
  fs::create_directories(dir / "demo");
  write_file(dir / "demo" / "notes.txt", "mine");
  const CommandResult taken = run_hostctl({"init", "demo", "--dir", dir.path().string()});
  INFO(taken.describe());
  CHECK(taken.exit_code == 1);
  CHECK(contains(taken.err, "exists and is not empty"));
  CHECK(read_file(dir / "demo" / "notes.txt") == "mine");
  CHECK_FALSE(fs::exists(dir / "demo" / "model.json"));

  const CommandResult bad = run_hostctl({"init", "My Model", "--dir", dir.path().string()});
  INFO(bad.describe());
  CHECK(bad.exit_code == 2);
  CHECK(contains(bad.err, "invalid model name"));

  // Relative to the working directory by default; an empty folder is fine.
  fs::create_directories(dir / "empty-one");
  CommandOptions in_dir;
  in_dir.cwd = dir.path();
  require_ok(run_hostctl({"init", "empty-one"}, in_dir));
  CHECK(fs::exists(dir / "empty-one" / "src" / "empty_one_model.cpp"));
}

TEST_CASE("usage") {
  const CommandResult none = run_hostctl({});
  CHECK(none.exit_code == 2);
  CHECK(contains(none.err, "Subcommands:"));
  CHECK(run_hostctl({"frobnicate"}).exit_code == 2);
  CHECK(run_hostctl({"predict", "echo"}).exit_code == 2);           // no -d
  CHECK(run_hostctl({"reload", "--timeout", "5"}).exit_code == 2);  // --timeout needs --wait
  const CommandResult help = run_hostctl({"--help"});
  CHECK(help.exit_code == 0);
  for (const char* command : {"reload", "status", "predict", "unload", "sync", "init"})
    CHECK(contains(help.out, command));
  CHECK(contains(help.out, "Exit codes"));
  const CommandResult reload_help = run_hostctl({"reload", "--help"});
  CHECK(reload_help.exit_code == 0);
  CHECK(contains(reload_help.out, "--wait"));
  CHECK(contains(reload_help.out, "Examples:"));
  const CommandResult predict_help = run_hostctl({"predict", "--help"});
  CHECK(contains(predict_help.out, "--stream"));
  CHECK(contains(predict_help.out, "@FILE"));
  // -d must be JSON: caught before anything is sent.
  TempDir dir("mh-usage");
  const CommandResult not_json =
      run_hostctl({"--admin-socket", (dir / "none.sock").string(), "predict", "x", "-d", "{"});
  CHECK(not_json.exit_code == 2);
  CHECK(contains(not_json.err, "not valid JSON"));
}

TEST_CASE("predict") {
  HostdProcess hostd;
  install_echo_model(hostd.models_dir(), "echo", R"({"stream_chunks": 3})");
  require_ok(hostctl(hostd, {"reload", "--wait"}));

  const CommandResult plain = hostctl(hostd, {"predict", "echo", "-d", R"({"x": 1})"});
  require_ok(plain);
  CHECK(json::parse(plain.out).at("echo").at("x").as_int64() == 1);

  TempDir dir("mh-predict");
  write_file(dir / "request.json", R"({"from": "file"})");
  const CommandResult from_file =
      hostctl(hostd, {"predict", "echo", "-d", "@" + (dir / "request.json").string()});
  require_ok(from_file);
  CHECK(json::parse(from_file.out).at("echo").at("from").as_string() == "file");

  const CommandResult stream = hostctl(hostd, {"predict", "echo", "-d", "{}", "--stream"});
  require_ok(stream);
  INFO(stream.out);
  const auto lines = lines_of(stream.out);
  REQUIRE(lines.size() >= 3);
  CHECK(lines[0] == R"({"chunk":1,"of":3})");
  CHECK(lines[1] == R"({"chunk":2,"of":3})");
  CHECK(lines[2] == R"({"chunk":3,"of":3})");
  for (const auto& line : lines) CHECK(line.rfind("data:", 0) != 0);

  const CommandResult unknown = hostctl(hostd, {"predict", "nope", "-d", "{}"});
  INFO(unknown.describe());
  CHECK(unknown.exit_code == 1);
  CHECK(contains(unknown.err, "HTTP 404"));
  CHECK(unknown.out.empty());
  const CommandResult unknown_stream = hostctl(hostd, {"predict", "nope", "-d", "{}", "--stream"});
  CHECK(unknown_stream.exit_code == 1);
  CHECK(contains(unknown_stream.err, "HTTP 404"));
}

TEST_CASE("unload") {
  HostdProcess hostd;
  install_echo_model(hostd.models_dir(), "echo");
  install_echo_model(hostd.models_dir(), "other");
  require_ok(hostctl(hostd, {"reload", "--wait"}));
  const CommandResult unload = hostctl(hostd, {"unload", "echo"});
  require_ok(unload);
  // The reply comes at once; the model may still be draining its requests in flight.
  CHECK((unload.out == "echo: unloaded\n" || unload.out == "echo: draining\n"));
  CHECK(hostctl(hostd, {"predict", "echo", "-d", "{}"}).exit_code == 1);
  require_ok(hostctl(hostd, {"predict", "other", "-d", "{}"}));
  const CommandResult unknown = hostctl(hostd, {"unload", "nope"});
  CHECK(unknown.exit_code == 1);
  CHECK(contains(unknown.err, "HTTP 404"));
}

TEST_CASE("reload_failure") {
  // A broken manifest: reload exits 1 and shows why; the model that serves keeps serving.
  HostdProcess hostd;
  install_echo_model(hostd.models_dir(), "echo");
  require_ok(hostctl(hostd, {"reload", "--wait"}));
  fs::create_directories(hostd.models_dir() / "broken");
  write_file(hostd.models_dir() / "broken" / "model.json", R"({"plugin": 42})");
  const CommandResult reload = hostctl(hostd, {"reload", "--wait"});
  INFO(reload.describe());
  CHECK(reload.exit_code == 1);
  const auto row = status_row(reload.out, "broken");
  REQUIRE(row.size() >= 4);
  CHECK(row[1] == "failed");
  CHECK(contains(reload.out, "plugin"));
  const CommandResult status = hostctl(hostd, {"status"});
  require_ok(status);
  CHECK(status_row(status.out, "broken").at(1) == "failed");
  CHECK(status_row(status.out, "echo").at(1) == "ready");
  require_ok(hostctl(hostd, {"predict", "echo", "-d", "{}"}));
}

TEST_CASE("sync_progress") {
  // A model with a local download_files_from: `hostctl sync` prints progress lines (stdout is
  // not a terminal here) and exits 0 once the changed files are in and the model is ready.
  HostdProcess hostd;
  TempDir source("mh-src");
  write_file(source / "weights.bin", random_bytes(24 << 20, 1));
  write_file(source / "nested" / "config.json", R"({"layers": 2})");
  install_echo_model(hostd.models_dir(), "synced", "{}",
                     "\"download_files_from\": \"" + source.path().string() + "/\"");
  require_ok(hostctl(hostd, {"reload", "--wait"}));
  const CommandResult before = hostctl(hostd, {"status", "--json"});
  require_ok(before);
  const json::value status = json::parse(before.out);
  const auto& model = status.at("models").as_array().at(0);
  const fs::path files_dir = std::string(model.at("files_dir").as_string());
  REQUIRE(read_file(files_dir / "nested" / "config.json") == R"({"layers": 2})");

  write_file(source / "weights.bin", random_bytes(24 << 20, 2));
  write_file(source / "extra.bin", random_bytes(8 << 20, 3));
  const CommandResult sync = hostctl(hostd, {"sync", "synced", "--timeout", "120"});
  INFO(sync.describe());
  REQUIRE(sync.exit_code == 0);
  CHECK(contains(sync.out, "sync synced: "));
  CHECK(contains(sync.out, "synced synced: "));
  CHECK(sync.out.find('\r') == std::string::npos);  // plain lines, not a redrawn bar
  CHECK(read_file(files_dir / "weights.bin") == random_bytes(24 << 20, 2));
  CHECK(fs::file_size(files_dir / "extra.bin") == (8u << 20));

  const CommandResult unknown = hostctl(hostd, {"sync", "nope"});
  CHECK(unknown.exit_code == 1);
}
