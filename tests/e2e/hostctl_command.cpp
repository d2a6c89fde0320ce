#include "hostctl_command.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/temp_dir.hpp"

extern char** environ;

namespace mh::e2e {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The test's environment with `options` applied, as "NAME=value" strings.
std::vector<std::string> environment(const CommandOptions& options) {
  std::map<std::string, std::string> variables;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string text = *entry;
    const auto equals = text.find('=');
    if (equals != std::string::npos) variables[text.substr(0, equals)] = text.substr(equals + 1);
  }
  for (const auto& name : options.unset_env) variables.erase(name);
  for (const auto& [name, value] : options.env) variables[name] = value;
  std::vector<std::string> out;
  for (const auto& [name, value] : variables) out.push_back(name + "=" + value);
  return out;
}

}  // namespace

std::string CommandResult::describe() const {
  return "exit code " + std::to_string(exit_code) + "\n--- stdout ---\n" + out +
         "--- stderr ---\n" + err;
}

CommandResult run_command(const std::vector<std::string>& argv, const CommandOptions& options) {
  TempDir capture("mh-cmd");
  const fs::path out_path = capture / "stdout";
  const fs::path err_path = capture / "stderr";
  std::vector<std::string> args = argv;
  std::vector<char*> arg_pointers;
  for (auto& arg : args) arg_pointers.push_back(arg.data());
  arg_pointers.push_back(nullptr);
  std::vector<std::string> env = environment(options);
  std::vector<char*> env_pointers;
  for (auto& entry : env) env_pointers.push_back(entry.data());
  env_pointers.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (!options.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, options.cwd.c_str());
  pid_t pid = -1;
  const int error = posix_spawn(&pid, args[0].c_str(), &actions, nullptr, arg_pointers.data(),
                                env_pointers.data());
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) throw std::runtime_error("cannot start " + args[0] + ": " + std::strerror(error));

  const auto give_up = std::chrono::steady_clock::now() + options.timeout;
  int status = 0;
  for (;;) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (std::chrono::steady_clock::now() >= give_up) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      throw std::runtime_error(args[0] + " did not finish within " +
                               std::to_string(options.timeout.count()) + " ms; stdout:\n" +
                               read_file(out_path) + "\nstderr:\n" + read_file(err_path));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_file(out_path);
  result.err = read_file(err_path);
  return result;
}

CommandResult run_hostctl(const std::vector<std::string>& args, CommandOptions options) {
  for (const char* name : {"MODELHOST_ADMIN_SOCKET", "MODELHOST_ADMIN_TOKEN", "XDG_RUNTIME_DIR"})
    options.unset_env.push_back(name);
  std::vector<std::string> argv = {MH_HOSTCTL_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, options);
}

}  // namespace mh::e2e
