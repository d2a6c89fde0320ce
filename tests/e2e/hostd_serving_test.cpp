// Serving: a model dropped into an empty directory, the error statuses, streaming, deadlines,
// cancellation, admission, probes and metrics, and hostd's flags.
#include "hostd_e2e_helpers.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <modelhost/version.h>
#include <boost/json/parse.hpp>
#include <fstream>
#include <thread>

extern char** environ;

using namespace mh::e2e;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

TEST_CASE("empty_dir_then_echo_reload") {
  HostdProcess hostd;
  HttpClient client(hostd.http());
  auto models = client.get("/v1/models");
  REQUIRE(models.status == 200);
  CHECK(models.json().at("object") == "list");
  CHECK(models.json().at("data").as_array().empty());
  CHECK(predict(client, "echo", "{}").status == 404);

  install_echo_model(hostd.models_dir(), "echo");
  AdminClient admin(hostd.admin());
  auto reply = admin.reload();
  CHECK(reload_action(reply, "echo") == "added");
  CHECK(admin.state("echo") == "ready");

  auto answer = predict(client, "echo", R"({"hello": "world"})");
  REQUIRE(answer.status == 200);
  CHECK(answer.header("content-type") == "application/json");
  CHECK(answer.json().at("echo").at("hello") == "world");
  CHECK(echo_version(answer) == MODELHOST_VERSION);
  CHECK(answer.json().at("route") == "predict");

  auto entry = admin.model("echo");
  REQUIRE(entry);
  CHECK(entry->at("plugin") == "echo");
  CHECK(entry->at("plugin_version") == MODELHOST_VERSION);
  CHECK(entry->at("generation") == 1);
  CHECK(entry->at("error").is_null());
  // Status names the operator's plugin file; the library loaded is hostd's private,
  // content-addressed copy in the cache, which never shows.
  const std::string plugin_path(entry->at("plugin_path").as_string());
  CHECK(plugin_path == (hostd.models_dir() / "echo" / "libmh_echo.so").string());
  bool has_copy = false;
  for (const auto& copy : fs::directory_iterator(hostd.cache_dir() / ".plugins")) {
    has_copy = has_copy || copy.path().stem().string().size() == 64;
  }
  CHECK(has_copy);

  models = client.get("/v1/models");
  REQUIRE(models.json().at("data").as_array().size() == 1);
  CHECK(models.json().at("data").at(0).at("id") == "echo");
  CHECK(models.json().at("data").at(0).at("object") == "model");
  CHECK(models.json().at("data").at(0).at("state") == "ready");
  CHECK(client.get("/v2/models/echo/ready").status == 200);
  CHECK(client.get("/v2/health/ready").status == 200);

  // The public routes answer on the admin socket too (hostctl predict needs only the socket).
  HttpClient over_socket(hostd.admin());
  CHECK(predict(over_socket, "echo", "{}").status == 200);
  // ... and the admin routes only there.
  CHECK(client.get("/admin/status").status == 404);

  // A second reload with nothing changed changes nothing.
  reply = admin.reload();
  CHECK(reload_action(reply, "echo") == "unchanged");
  CHECK(admin.model("echo")->at("generation") == 1);
  CHECK(hostd.stop() == 0);
}

TEST_CASE("http_errors_keep_hostd_up") {
  HostdProcess hostd;
  install_echo_model(hostd.models_dir(), "echo");
  install_echo_model(hostd.models_dir(), "slow", R"({"init_delay_ms": 4000})");
  AdminClient admin(hostd.admin());
  admin.reload(std::nullopt, false);
  REQUIRE(admin.wait_for_state("echo", "ready"));
  HttpClient client(hostd.http());

  SUBCASE("statuses") {
    auto malformed = predict(client, "echo", R"({"x": )");
    CHECK(malformed.status == 400);
    CHECK(malformed.json().at("error").at("code") == 400);
    CHECK(contains(error_message(malformed), "malformed JSON"));
    CHECK(malformed.json().at("error").at("type") == "invalid_request_error");

    auto wrong_type = client.request("POST", "/v1/models/echo/predict", "x=1",
                                     {{"Content-Type", "application/x-www-form-urlencoded"}});
    CHECK(wrong_type.status == 415);
    CHECK(contains(error_message(wrong_type), "application/json"));

    const std::string ten_megabytes = "\"" + std::string(10u << 20, 'a') + "\"";
    auto too_big = predict(client, "echo", ten_megabytes);
    CHECK(too_big.status == 413);
    CHECK(contains(error_message(too_big), "limit"));

    auto unknown = predict(client, "nope", "{}");
    CHECK(unknown.status == 404);
    CHECK(unknown.json().at("error").at("type") == "not_found_error");

    auto loading = predict(client, "slow", "{}");
    CHECK(loading.status == 503);
    CHECK(!loading.header("retry-after").empty());
    CHECK(contains(error_message(loading), "loading"));
    CHECK(client.get("/v2/models/slow/ready").status == 503);
    CHECK(client.get("/v2/health/ready").status == 503);  // a model is still on its way up

    CHECK(client.get("/v1/models/echo/predict").status == 405);
    CHECK(client.get("/no/such/route").status == 404);
    CHECK(client.request("POST", "/v1/chat/completions", R"({"messages": []})").status == 400);
  }

  // hostd is still up and serving after all of that.
  HttpClient fresh(hostd.http());
  CHECK(fresh.get("/v2/health/live").status == 200);
  CHECK(predict(fresh, "echo", R"({"after": true})").status == 200);
  REQUIRE(admin.wait_for_state("slow", "ready", 15s));
  CHECK(predict(fresh, "slow", "{}").status == 200);
  CHECK(fresh.get("/v2/health/ready").status == 200);
  CHECK(hostd.running());
}

TEST_CASE("streaming_sse_and_openai_routes") {
  HostdProcess hostd;
  install_echo_model(hostd.models_dir(), "echo", R"({"stream_chunks": 4})");
  reload_all(hostd);
  HttpClient client(hostd.http());

  auto head = client.start_stream("POST", "/v1/models/echo/predict", R"({"stream": true, "n": 1})");
  REQUIRE(head.status == 200);
  CHECK(contains(head.header("content-type"), "text/event-stream"));
  std::vector<std::string> events;
  while (auto event = client.next_event()) events.push_back(*event);
  REQUIRE(events.size() == 5);  // 4 chunks and the final reply
  CHECK(boost::json::parse(events[0]).at("chunk") == 1);
  CHECK(boost::json::parse(events[3]).at("of") == 4);
  CHECK(boost::json::parse(events[4]).at("model") == "echo");

  // Accept: text/event-stream asks for a stream too; the connection is reused.
  head = client.start_stream("POST", "/v1/models/echo/predict", R"({"chunks": 2})",
                             {{"Accept", "text/event-stream"}});
  REQUIRE(head.status == 200);
  events.clear();
  while (auto event = client.next_event()) events.push_back(*event);
  CHECK(events.size() == 3);

  // OpenAI routes: routed by the body's "model", the plugin sees the route, streams end [DONE].
  auto chat = client.post("/v1/chat/completions", R"({"model": "echo", "messages": []})");
  REQUIRE(chat.status == 200);
  CHECK(chat.json().at("route") == "chat.completions");
  head = client.start_stream("POST", "/v1/completions",
                             R"({"model": "echo", "prompt": "hi", "stream": true})");
  REQUIRE(head.status == 200);
  events.clear();
  while (auto event = client.next_event()) events.push_back(*event);
  REQUIRE(!events.empty());
  CHECK(events.back() == "[DONE]");
  CHECK(boost::json::parse(events[events.size() - 2]).at("route") == "completions");
  CHECK(client.post("/v1/completions", R"({"model": "nope"})").status == 404);
  CHECK(client.post("/v1/models/echo/tokenize", "{}").json().at("route") == "tokenize");
}

TEST_CASE("timeout_504_and_the_plugin_is_told") {
  HostdProcess hostd;
  install_echo_model(hostd.models_dir(), "echo", "{}", R"("timeout_ms": 300)");
  reload_all(hostd);
  HttpClient client(hostd.http());
  const auto started = std::chrono::steady_clock::now();
  auto reply = predict(client, "echo", R"({"delay_ms": 5000})");
  const auto took = std::chrono::steady_clock::now() - started;
  CHECK(reply.status == 504);
  CHECK(reply.json().at("error").at("type") == "timeout_error");
  CHECK(took < 2s);
  CHECK(hostd.wait_for_log("stopped early: deadline exceeded", 5s));
  CHECK(predict(client, "echo", "{}").status == 200);
}

TEST_CASE("client_disconnect_cancels_in_the_plugin") {
  HostdProcess hostd;
  install_echo_model(hostd.models_dir(), "echo");
  reload_all(hostd);
  {
    HttpClient client(hostd.http());
    CHECK_THROWS(predict(client, "echo", R"({"delay_ms": 20000})", 300ms));  // gives up, closes
  }
  CHECK(hostd.wait_for_log("stopped early: cancelled", 5s));
  {
    HttpClient client(hostd.http());
    auto head = client.start_stream("POST", "/v1/models/echo/predict",
                                    R"({"stream": true, "chunks": 100, "delay_ms": 20000})");
    REQUIRE(head.status == 200);
    REQUIRE(client.next_event());
    client.close();
  }
  CHECK(hostd.wait_for_log("stopped early: cancelled", 5s, 2));
  AdminClient admin(hostd.admin());
  auto in_flight = [&] { return admin.model("echo")->at("in_flight").as_int64(); };
  for (int i = 0; i < 100 && in_flight() != 0; ++i) std::this_thread::sleep_for(20ms);
  CHECK(in_flight() == 0);
}

TEST_CASE("admission_429_past_max_concurrency_and_queue") {
  HostdProcess hostd;
  install_echo_model(hostd.models_dir(), "echo", "{}", R"("max_concurrency": 1, "max_queue": 1)");
  reload_all(hostd);
  std::vector<unsigned> statuses(3, 0);
  std::vector<std::thread> clients;
  for (int i = 0; i < 3; ++i) {
    clients.emplace_back([&, i] {
      std::this_thread::sleep_for(std::chrono::milliseconds(100 * i));
      HttpClient client(hostd.http());
      statuses[static_cast<std::size_t>(i)] =
          predict(client, "echo", R"({"delay_ms": 800})").status;
    });
  }
  for (auto& thread : clients) thread.join();
  CHECK(statuses[0] == 200);  // running
  CHECK(statuses[1] == 200);  // queued, then ran
  CHECK(statuses[2] == 429);  // neither
}

TEST_CASE("probes_and_metrics") {
  HostdProcess hostd;
  install_echo_model(hostd.models_dir(), "echo");
  reload_all(hostd);
  HttpClient client(hostd.http());
  for (int i = 0; i < 3; ++i) REQUIRE(predict(client, "echo", "{}").status == 200);
  CHECK(predict(client, "echo", "[").status == 400);
  auto live = client.get("/v2/health/live");
  CHECK(live.status == 200);
  CHECK(live.json().at("live") == true);
  CHECK(client.get("/v2/health/ready").json().at("ready") == true);
  CHECK(client.get("/v2/models/echo/ready").json().at("ready") == true);
  CHECK(client.get("/v2/models/nope/ready").status == 404);

  auto metrics = client.get("/metrics");
  REQUIRE(metrics.status == 200);
  CHECK(contains(metrics.header("content-type"), "text/plain"));
  const std::string& text = metrics.body;
  CHECK(contains(text, "# TYPE modelhost_requests_total counter"));
  CHECK(contains(text, "modelhost_requests_total{model=\"echo\",code=\"200\"} 3"));
  // Refusals count too; names the registry does not know share the label "".
  CHECK(contains(text, "modelhost_requests_total{model=\"\",code=\"400\"} 1"));
  CHECK(contains(text, "# TYPE modelhost_request_duration_seconds histogram"));
  CHECK(contains(text, "modelhost_request_duration_seconds_bucket{model=\"echo\",le=\"+Inf\"} 3"));
  CHECK(contains(text, "modelhost_request_duration_seconds_count{model=\"echo\"} 3"));
  CHECK(contains(text, "modelhost_requests_in_flight{model=\"echo\"} 0"));
  CHECK(contains(text, "modelhost_model_state{model=\"echo\",state=\"ready\"} 1"));
  CHECK(contains(text, "modelhost_model_state{model=\"echo\",state=\"failed\"} 0"));
  CHECK(contains(text, "modelhost_model_load_duration_seconds{model=\"echo\"}"));
}

namespace {

struct Run {
  int exit_code = -1;
  std::string output;
};

// Runs hostd with `args` to its end, capturing stdout and stderr.
Run run_hostd(std::vector<std::string> args) {
  TempDir temp("mh-flags");
  const auto output = temp / "out.txt";
  args.insert(args.begin(), hostd_binary().string());
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  REQUIRE(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) == 0);
  posix_spawn_file_actions_destroy(&actions);
  int status = 0;
  waitpid(pid, &status, 0);
  std::ifstream in(output);
  Run run;
  run.output.assign(std::istreambuf_iterator<char>(in), {});
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

}  // namespace

TEST_CASE("flags_help_and_clear_errors") {
  auto help = run_hostd({"--help"});
  CHECK(help.exit_code == 0);
  for (const char* flag :
       {"--models-dir", "--listen", "--admin-socket", "--cache-dir", "--storage", "--log-level",
        "--plugin-dir", "--max-body-bytes", "--drain-timeout-ms"}) {
    CHECK_MESSAGE(contains(help.output, flag), flag);
  }
  CHECK(contains(help.output, "127.0.0.1:8080"));
  CHECK(contains(help.output, "/var/practicus/cache"));

  TempDir temp("mh-flags");
  auto missing = run_hostd(
      {"--models-dir", (temp / "nope").string(), "--cache-dir", (temp / "cache").string()});
  CHECK(missing.exit_code == 2);
  CHECK(contains(missing.output, "--models-dir"));
  CHECK(contains(missing.output, "no such directory"));

  fs::create_directories(temp / "models");
  std::ofstream(temp / "file") << "x";
  auto unwritable = run_hostd({"--models-dir", (temp / "models").string(), "--cache-dir",
                               (temp / "file" / "cache").string()});
  CHECK(unwritable.exit_code == 2);
  CHECK(contains(unwritable.output, "--cache-dir"));

  auto bad_listen = run_hostd({"--models-dir", (temp / "models").string(), "--listen", "nowhere"});
  CHECK(bad_listen.exit_code == 2);
  CHECK(contains(bad_listen.output, "--listen"));
}

TEST_CASE("admin_tcp_listener_needs_the_token") {
  const std::uint16_t admin_port = find_free_port();
  HostdOptions options;
  options.extra_args = {"--admin-listen", "127.0.0.1:" + std::to_string(admin_port),
                        "--admin-token", "t0ken"};
  HostdProcess hostd(options);
  HttpClient admin(Endpoint::tcp("127.0.0.1", admin_port));
  CHECK(admin.get("/admin/status").status == 401);
  auto status = admin.request("GET", "/admin/status", {}, {{"Authorization", "Bearer t0ken"}});
  CHECK(status.status == 200);
  CHECK(status.json().at("hostd").at("listen").as_string() ==
        "127.0.0.1:" + std::to_string(hostd.port()));
  // The public listener never serves the admin API.
  CHECK(HttpClient(hostd.http())
            .request("GET", "/admin/status", {}, {{"Authorization", "Bearer t0ken"}})
            .status == 404);
  TempDir temp("mh-flags");
  fs::create_directories(temp / "models");
  auto no_token =
      run_hostd({"--models-dir", (temp / "models").string(), "--admin-listen", "127.0.0.1:1"});
  CHECK(no_token.exit_code != 0);
  CHECK(contains(no_token.output, "--admin-token"));
}
