// Regression tests of hostd's own hardening findings (issue 10): the admin socket's path and
// directory, and accept() when file descriptors run out. See hardening_http_test.cpp for
// MH_HARDENING_HOSTD.
#include "hardening_raw_client.hpp"
#include "hostd_e2e_helpers.hpp"

#include <sys/stat.h>

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <thread>

namespace mh::e2e {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

fs::path hostd_under_test() {
  const char* other = std::getenv("MH_HARDENING_HOSTD");
  return other != nullptr && *other ? fs::path(other) : hostd_binary();
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("hardening_admin_socket_replaces_only_a_stale_socket") {
  TempDir temp("mh-hardening");
  fs::create_directories(temp / "models");
  const std::vector<std::string> common = {"--models-dir", (temp / "models").string(),
                                           "--cache-dir",  (temp / "cache").string(),
                                           "--listen",     "127.0.0.1:0"};
  // A regular file where the socket would go: kept, and hostd refuses with the path.
  const fs::path file = temp / "not-a-socket";
  std::ofstream(file) << "precious";
  auto args = common;
  args.insert(args.end(), {"--admin-socket", file.string()});
  auto run = run_to_exit(hostd_under_test(), args, {}, {}, 10s);
  CHECK(run.exit_code > 0);
  CHECK(contains(run.output, file.string()));
  CHECK(contains(run.output, "not a socket"));
  CHECK(read_text(file) == "precious");

  // A directory: the same.
  const fs::path dir = temp / "a-dir";
  fs::create_directories(dir / "inside");
  args = common;
  args.insert(args.end(), {"--admin-socket", dir.string()});
  run = run_to_exit(hostd_under_test(), args, {}, {}, 10s);
  CHECK(run.exit_code > 0);
  CHECK(contains(run.output, dir.string()));
  CHECK(fs::is_directory(dir / "inside"));

  // A live socket (another hostd): refused, and the other one keeps its socket.
  HostdOptions other_options;
  other_options.binary = hostd_under_test();
  HostdProcess other(other_options);
  args = common;
  args.insert(args.end(), {"--admin-socket", other.admin_socket().string()});
  run = run_to_exit(hostd_under_test(), args, {}, {}, 10s);
  CHECK(run.exit_code > 0);
  CHECK(contains(run.output, "listening there"));
  CHECK(AdminClient(other.admin()).status().is_object());
}

TEST_CASE("hardening_default_admin_socket_dir_must_be_ours_and_private") {
  TempDir temp("mh-hardening");
  fs::create_directories(temp / "models");
  fs::create_directories(temp / "runtime" / "modelhost");
  // Made by someone else, or loosened: group- and world-writable.
  fs::permissions(temp / "runtime" / "modelhost", fs::perms::all);
  const std::vector<std::string> args = {"--models-dir", (temp / "models").string(),
                                         "--cache-dir",  (temp / "cache").string(),
                                         "--listen",     "127.0.0.1:0"};
  auto run =
      run_to_exit(hostd_under_test(), args, {"XDG_RUNTIME_DIR=" + (temp / "runtime").string()},
                  {"MODELHOST_ADMIN_SOCKET"}, 10s);
  CHECK(run.exit_code == 2);
  CHECK(contains(run.output, (temp / "runtime" / "modelhost").string()));
  CHECK(contains(run.output, "writable by group or others"));

  // Private again: hostd starts (and is stopped by the wait running out).
  fs::permissions(temp / "runtime" / "modelhost", fs::perms::owner_all);
  run = run_to_exit(hostd_under_test(), args, {"XDG_RUNTIME_DIR=" + (temp / "runtime").string()},
                    {"MODELHOST_ADMIN_SOCKET"}, 2s);
  CHECK(run.exit_code == -1);
  CHECK(contains(run.output, "listening on"));
}

TEST_CASE("hardening_accept_backs_off_when_descriptors_run_out") {
  TempDir temp("mh-hardening");
  // hostd with few file descriptors: a wrapper lowers the limit and execs it (same pid).
  const fs::path wrapper = temp / "hostd-few-fds";
  std::ofstream(wrapper) << "#!/bin/sh\nulimit -n 64\nexec '" << hostd_under_test().string()
                         << "' \"$@\"\n";
  fs::permissions(wrapper, fs::perms::owner_all);
  HostdOptions options;
  options.binary = wrapper;
  HostdProcess hostd(options);
  std::vector<std::unique_ptr<RawConnection>> flood;
  for (int i = 0; i < 120; ++i) flood.push_back(std::make_unique<RawConnection>(hostd.port()));
  std::this_thread::sleep_for(3s);  // accept fails meanwhile: it must not spin and log
  CHECK(hostd.running());
  CHECK(hostd.count_in_log("Too many open files") <= 3);
  flood.clear();
  // Descriptors free again: served.
  bool served = false;
  for (int attempt = 0; attempt < 100 && !served; ++attempt) {
    try {
      served = http_request(hostd.http(), "GET", "/v2/health/live", {}, {}, 2s).status == 200;
    } catch (const std::exception&) {
      std::this_thread::sleep_for(100ms);
    }
  }
  CHECK(served);
}

}  // namespace mh::e2e
