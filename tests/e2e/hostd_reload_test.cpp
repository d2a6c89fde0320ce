// Hot reload: a plugin replaced in place under load, a model removed, broken models beside
// serving ones, a plugin whose init never ends, unload.
#include "hostd_e2e_helpers.hpp"

#include <modelhost/version.h>
#include <atomic>
#include <fstream>
#include <set>
#include <thread>

using namespace mh::e2e;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

TEST_CASE("replace_so_in_place_under_load_no_request_fails") {
  HostdProcess hostd;
  const fs::path dir = install_echo_model(hostd.models_dir(), "echo");
  install_echo_model(hostd.models_dir(), "other");
  AdminClient admin(hostd.admin());
  reload_all(hostd);
  REQUIRE(admin.state("echo") == "ready");

  // Replaced in place (truncated and rewritten, as `cp` does), then reloaded: the new one answers.
  fs::copy_file(echo_next_plugin(), dir / "libmh_echo.so", fs::copy_options::overwrite_existing);
  auto reply = admin.reload();
  CHECK(reload_action(reply, "echo") == "changed");
  CHECK(reload_action(reply, "other") == "unchanged");
  HttpClient client(hostd.http());
  CHECK(echo_version(predict(client, "echo", "{}")) == "2.0.0-next");
  CHECK(admin.model("echo")->at("generation") == 2);

  // 4 clients x 2000 requests; 20 reloads spread over them, each swapping the library.
  constexpr int kClients = 4;
  constexpr int kRequests = 2000;
  constexpr int kReloads = 20;
  std::atomic<int> done{0};
  std::atomic<int> failures{0};
  std::vector<std::string> first_failures;
  std::mutex failures_mutex;
  std::set<std::string> versions_seen;
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      HttpClient load(hostd.http());
      std::set<std::string> seen;
      for (int i = 0; i < kRequests; ++i) {
        std::string problem;
        try {
          auto answer = predict(load, "echo", "{\"client\": " + std::to_string(c) + "}");
          if (answer.status != 200) {
            problem = "HTTP " + std::to_string(answer.status) + ": " + answer.body;
          } else {
            seen.insert(echo_version(answer));
          }
        } catch (const std::exception& error) {
          problem = error.what();
        }
        if (!problem.empty()) {
          ++failures;
          std::lock_guard lock(failures_mutex);
          if (first_failures.size() < 5) first_failures.push_back(problem);
        }
        ++done;
      }
      std::lock_guard lock(failures_mutex);
      versions_seen.insert(seen.begin(), seen.end());
    });
  }
  const fs::path plugins[2] = {echo_plugin(), echo_next_plugin()};
  int reloads = 0;
  for (int r = 1; r <= kReloads; ++r) {
    const int threshold = kClients * kRequests * r / (kReloads + 1);
    while (done.load() < threshold) std::this_thread::sleep_for(1ms);
    fs::copy_file(plugins[(r + 1) % 2], dir / "libmh_echo.so",
                  fs::copy_options::overwrite_existing);
    auto changes = admin.reload();
    CHECK(reload_action(changes, "echo") == "changed");
    ++reloads;
  }
  for (auto& thread : clients) thread.join();
  INFO("first failures: " << (first_failures.empty() ? "" : first_failures.front()));
  CHECK(failures.load() == 0);
  CHECK(done.load() == kClients * kRequests);
  CHECK(reloads == kReloads);
  CHECK(versions_seen.count(MODELHOST_VERSION) == 1);
  CHECK(versions_seen.count("2.0.0-next") == 1);
  // Odd reloads put MODELHOST_VERSION in place, even ones 2.0.0-next; the last is even.
  CHECK(echo_version(predict(client, "echo", "{}")) == "2.0.0-next");
  CHECK(admin.model("echo")->at("generation") == 2 + kReloads);
  CHECK(admin.model("other")->at("generation") == 1);
  // Every replaced generation drained and cleaned up.
  CHECK(hostd.wait_for_log("echo cleanup done", 10s, 1 + kReloads));
}

TEST_CASE("removed_model_gives_404_others_unaffected") {
  HostdProcess hostd;
  install_echo_model(hostd.models_dir(), "gone");
  install_echo_model(hostd.models_dir(), "stays");
  AdminClient admin(hostd.admin());
  reload_all(hostd);
  HttpClient client(hostd.http());
  REQUIRE(predict(client, "gone", "{}").status == 200);

  fs::remove_all(hostd.models_dir() / "gone");
  auto reply = admin.reload();
  CHECK(reload_action(reply, "gone") == "removed");
  CHECK(reload_action(reply, "stays") == "unchanged");
  CHECK(predict(client, "gone", "{}").status == 404);
  CHECK(client.get("/v2/models/gone/ready").status == 404);
  CHECK(predict(client, "stays", "{}").status == 200);
  CHECK_FALSE(admin.model("gone"));
  CHECK(hostd.wait_for_log("[gone#1] echo cleanup done", 5s));
  CHECK(hostd.count_in_log("[stays#1] echo cleanup done") == 0);
}

TEST_CASE("broken_models_show_errors_while_others_serve") {
  HostdProcess hostd;
  const fs::path good = install_echo_model(hostd.models_dir(), "good");
  AdminClient admin(hostd.admin());
  reload_all(hostd);
  HttpClient client(hostd.http());
  REQUIRE(predict(client, "good", "{}").status == 200);

  // A broken manifest.
  const fs::path broken = install_echo_model(hostd.models_dir(), "broken");
  write_file_atomically(broken / "model.json",
                        R"({"plugin": "libmh_echo.so", "max_concurrency": "ten"})");
  // A half-copied plugin.
  const fs::path half = hostd.models_dir() / "half";
  fs::create_directories(half);
  {
    std::ifstream in(echo_plugin(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(half / "libmh_echo.so", std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  }
  write_file_atomically(half / "model.json", R"({"plugin": "libmh_echo.so"})");
  // A plugin whose init fails.
  install_echo_model(hostd.models_dir(), "failing", R"({"fail_init": "no weights here"})");

  auto reply = admin.reload();
  CHECK(reload_action(reply, "good") == "unchanged");
  CHECK(reload_action(reply, "broken") == "failed");
  CHECK(reload_action(reply, "half") == "failed");
  CHECK(reload_action(reply, "failing") == "failed");

  auto broken_status = admin.model("broken");
  REQUIRE(broken_status);
  CHECK(broken_status->at("state") == "failed");
  const std::string broken_error(broken_status->at("error").as_string());
  CHECK(contains(broken_error, "model.json"));
  CHECK(contains(broken_error, "\"max_concurrency\""));
  CHECK(contains(broken_error, "\"ten\""));

  auto half_status = admin.model("half");
  REQUIRE(half_status);
  CHECK(half_status->at("state") == "failed");
  CHECK(contains(std::string(half_status->at("error").as_string()), "cannot load plugin library"));

  auto failing_status = admin.model("failing");
  REQUIRE(failing_status);
  CHECK(failing_status->at("state") == "failed");
  CHECK(contains(std::string(failing_status->at("error").as_string()), "no weights here"));

  CHECK(predict(client, "good", "{}").status == 200);
  CHECK(predict(client, "broken", "{}").status == 503);  // known, but failed
  CHECK(predict(client, "failing", "{}").status == 503);
  CHECK(client.get("/v2/health/ready").status == 200);  // failed models do not hold it back

  // A serving model whose new plugin is half-copied keeps serving its old generation.
  {
    std::ifstream in(echo_next_plugin(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(good / "libmh_echo.so", std::ios::binary | std::ios::trunc)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 3));
  }
  reply = admin.reload();
  CHECK(reload_action(reply, "good") == "failed");
  auto good_status = admin.model("good");
  CHECK(good_status->at("state") == "ready");
  CHECK(good_status->at("generation") == 1);
  CHECK_FALSE(good_status->at("error").is_null());
  auto answer = predict(client, "good", "{}");
  CHECK(answer.status == 200);
  CHECK(echo_version(answer) == MODELHOST_VERSION);

  // ... and its broken manifest too.
  write_file_atomically(good / "model.json", "{ not json");
  reply = admin.reload();
  CHECK(reload_action(reply, "good") == "failed");
  CHECK(contains(std::string(admin.model("good")->at("error").as_string()), "not valid JSON"));
  CHECK(predict(client, "good", "{}").status == 200);

  // Mended: the next reload loads it anew and clears the error.
  install_echo_model(hostd.models_dir(), "good", "{}", "", echo_next_plugin());
  reply = admin.reload();
  CHECK(reload_action(reply, "good") == "changed");
  CHECK(admin.model("good")->at("error").is_null());
  CHECK(echo_version(predict(client, "good", "{}")) == "2.0.0-next");
  CHECK(hostd.running());
}

TEST_CASE("init_that_never_finishes_is_bounded_by_the_load_timeout") {
  HostdProcess hostd;
  install_echo_model(hostd.models_dir(), "stuck", R"({"init_delay_ms": 3000})",
                     R"("load_timeout_ms": 300)");
  install_echo_model(hostd.models_dir(), "fine");
  AdminClient admin(hostd.admin());
  auto reply = admin.reload();
  CHECK(reload_action(reply, "stuck") == "failed");
  auto stuck = admin.model("stuck");
  CHECK(stuck->at("state") == "failed");
  CHECK(contains(std::string(stuck->at("error").as_string()), "load timeout"));
  HttpClient client(hostd.http());
  CHECK(predict(client, "fine", "{}").status == 200);
  // The instance is not left behind: in-process, when init does finish later, the instance it
  // made is cleaned up; isolated, the runner is killed at the timeout.
  if (stuck->at("mode") == "none") {
    CHECK(hostd.wait_for_log("[stuck#1] echo cleanup done", 10s));
  } else {
    CHECK(hostd.wait_for_log("was stopped by hostd (init did not finish within 300 ms", 10s));
  }
}

TEST_CASE("admin_unload_then_reload") {
  HostdProcess hostd;
  install_echo_model(hostd.models_dir(), "echo");
  AdminClient admin(hostd.admin());
  reload_all(hostd);
  HttpClient client(hostd.http());
  REQUIRE(predict(client, "echo", "{}").status == 200);
  auto unloaded = admin.unload("echo");
  CHECK(unloaded.status == 200);
  CHECK(unloaded.json().at("name") == "echo");
  CHECK(admin.wait_for_state("echo", "unloaded"));
  CHECK(predict(client, "echo", "{}").status == 404);
  CHECK(admin.unload("nope").status == 404);
  auto reply = admin.reload();
  CHECK(reload_action(reply, "echo") == "added");
  CHECK(predict(client, "echo", "{}").status == 200);
  // Reloading one model by name, and a name that is nowhere.
  CHECK(reload_action(admin.reload("echo"), "echo") == "unchanged");
  CHECK_THROWS(admin.reload("nope"));
}

TEST_CASE("drain_timeout_stops_a_long_request_of_a_replaced_generation") {
  HostdOptions options;
  options.extra_args = {"--drain-timeout-ms", "300"};
  HostdProcess hostd(options);
  const fs::path dir = install_echo_model(hostd.models_dir(), "echo");
  AdminClient admin(hostd.admin());
  reload_all(hostd);
  HttpClient client(hostd.http());
  auto head = client.start_stream("POST", "/v1/models/echo/predict",
                                  R"({"stream": true, "chunks": 10, "delay_ms": 10000})");
  REQUIRE(head.status == 200);
  REQUIRE(client.next_event());
  fs::copy_file(echo_next_plugin(), dir / "libmh_echo.so", fs::copy_options::overwrite_existing);
  const auto started = std::chrono::steady_clock::now();
  CHECK(reload_action(admin.reload(), "echo") == "changed");
  std::string last;
  while (auto event = client.next_event()) last = *event;
  CHECK(std::chrono::steady_clock::now() - started < 5s);
  // The stream's head went out as 200; its end says why it stopped.
  CHECK(contains(last, "\"code\":503"));
  CHECK(contains(last, "unloaded before the request finished"));
  CHECK(hostd.wait_for_log("[echo#1] echo cleanup done", 5s));
  CHECK(echo_version(predict(client, "echo", "{}")) == "2.0.0-next");
}
