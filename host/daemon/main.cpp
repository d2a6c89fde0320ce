// hostd: hosts ML models as native plugins and serves them over HTTP. See --help.
#include "config/command_line.hpp"
#include "daemon/daemon.hpp"
#include "daemon/route_list.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <iostream>

int main(int argc, char** argv) {
  using namespace mh::host;
  CommandLine command_line = parse_command_line(argc, argv);
  if (const auto* exit = std::get_if<ExitNow>(&command_line)) return exit->code;
  if (std::holds_alternative<PrintRoutes>(command_line)) {
    std::cout << route_list_markdown();
    return 0;
  }
  if (const auto* print = std::get_if<PrintConfig>(&command_line)) {
    std::cout << print->text;
    return 0;
  }
  HostConfig config = std::get<HostConfig>(std::move(command_line));

  auto logger = spdlog::stderr_color_mt("hostd");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v");
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  spdlog::flush_on(spdlog::level::trace);

  try {
    prepare_directories(config);
  } catch (const ConfigError& error) {
    std::cerr << "hostd: " << error.what() << "\n";
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);  // a client that leaves mid-write is an error code, not a kill
  return run_daemon(config);
}
