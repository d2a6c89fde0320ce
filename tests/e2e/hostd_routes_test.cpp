// Routes: what the route tables derive (405 with Allow, 404) on the public listener and on the
// admin socket, OpenAI's retrieve-model route, and hostd --print-routes.
#include "hostd_e2e_helpers.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <fstream>
#include <iterator>

extern char** environ;

using namespace mh::e2e;
namespace fs = std::filesystem;

TEST_CASE("retrieve_model_in_openai_shape") {
  HostdProcess hostd;
  install_echo_model(hostd.models_dir(), "echo");
  reload_all(hostd);
  HttpClient client(hostd.http());

  auto model = client.get("/v1/models/echo");
  REQUIRE(model.status == 200);
  CHECK(model.header("content-type") == "application/json");
  // The same object as the model's entry in GET /v1/models.
  auto list = client.get("/v1/models");
  REQUIRE(list.status == 200);
  REQUIRE(list.json().at("data").as_array().size() == 1);
  CHECK(model.json() == list.json().at("data").at(0));
  CHECK(model.json().at("id") == "echo");
  CHECK(model.json().at("object") == "model");
  CHECK(model.json().at("owned_by") == "modelhost");
  CHECK(model.json().at("created").is_int64());
  CHECK(model.json().at("state") == "ready");

  auto unknown = client.get("/v1/models/nope");
  CHECK(unknown.status == 404);
  CHECK(unknown.json().at("error").at("code") == 404);
  CHECK(unknown.json().at("error").at("type") == "not_found_error");
  CHECK(contains(error_message(unknown), "\"nope\""));

  auto wrong_method = client.post("/v1/models/echo", "{}");
  CHECK(wrong_method.status == 405);
  CHECK(wrong_method.header("allow") == "GET");
}

TEST_CASE("wrong_method_405_with_allow_and_404_on_every_listener") {
  HostdProcess hostd;
  HttpClient client(hostd.http());

  auto get_predict = client.get("/v1/models/echo/predict");
  CHECK(get_predict.status == 405);
  CHECK(get_predict.header("allow") == "POST");
  CHECK(get_predict.json().at("error").at("type") == "invalid_request_error");
  auto post_live = client.post("/v2/health/live", "{}");
  CHECK(post_live.status == 405);
  CHECK(post_live.header("allow") == "GET");
  CHECK(client.request("DELETE", "/metrics").header("allow") == "GET");
  auto unknown = client.get("/v1/nothing/here");
  CHECK(unknown.status == 404);
  CHECK(unknown.header("allow").empty());
  CHECK(client.get("/admin/status").status == 404);  // the admin API is not public

  // The admin socket: the admin routes, then the public ones.
  HttpClient admin(hostd.admin());
  auto post_status = admin.post("/admin/status", "{}");
  CHECK(post_status.status == 405);
  CHECK(post_status.header("allow") == "GET");
  auto get_reload = admin.get("/admin/reload");
  CHECK(get_reload.status == 405);
  CHECK(get_reload.header("allow") == "POST");
  CHECK(admin.get("/admin/nothing").status == 404);
  CHECK(admin.get("/v2/health/live").status == 200);
  CHECK(admin.get("/v1/models/echo/predict").header("allow") == "POST");
  CHECK(admin.get("/admin/status").status == 200);
}

TEST_CASE("print_routes_lists_both_tables") {
  TempDir temp("mh-routes");
  const auto output = temp / "out.txt";
  std::string binary = hostd_binary().string();
  std::string flag = "--print-routes";
  char* argv[] = {binary.data(), flag.data(), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  REQUIRE(posix_spawn(&pid, argv[0], &actions, nullptr, argv, environ) == 0);
  posix_spawn_file_actions_destroy(&actions);
  int status = 0;
  waitpid(pid, &status, 0);  // prints and exits: no --models-dir needed
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  std::ifstream in(output);
  const std::string text(std::istreambuf_iterator<char>(in), {});
  CHECK(contains(text, "| `POST /v1/models/{name}/predict` | "));
  CHECK(contains(text, "| `GET /v1/models/{name}` | "));
  CHECK(contains(text, "| `GET /metrics` | "));
  CHECK(contains(text, "| `GET /admin/status` | "));
  CHECK(contains(text, "| `POST /admin/reload` | "));
  // The public table, then the admin table.
  CHECK(text.find("/v2/health/live") < text.find("/admin/status"));
}
