// A model's files: synced (host/sync) into the cache before init, re-synced on reload (a new
// generation when they changed), progress in status, bytes and time in /metrics.
#include "hostd_e2e_helpers.hpp"

#include <fstream>
#include <sstream>

using namespace mh::e2e;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

void write(const fs::path& path, std::string_view text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("model_files_synced_before_init_and_on_reload") {
  TempDir storage("mh-store");
  write(storage / "echo-files" / "config.json", R"({"layers": 1})");
  write(storage / "echo-files" / "weights" / "part-0.bin", std::string(1 << 20, 'w'));
  HostdOptions options;
  options.extra_args = {"--storage", "file://" + storage.path().string() + "/"};
  HostdProcess hostd(options);
  install_echo_model(hostd.models_dir(), "echo", "{}", R"("download_files_from": "echo-files/")");
  AdminClient admin(hostd.admin());

  auto reply = admin.reload();
  CHECK(reload_action(reply, "echo") == "added");
  auto status = admin.model("echo");
  REQUIRE(status);
  CHECK(status->at("state") == "ready");
  const fs::path files_dir(std::string(status->at("files_dir").as_string()));
  CHECK(files_dir == hostd.cache_dir() / "echo");  // default: <cache-dir>/<name>
  CHECK(read(files_dir / "config.json") == R"({"layers": 1})");
  CHECK(fs::file_size(files_dir / "weights" / "part-0.bin") == 1u << 20);
  CHECK(status->at("sync").at("state") == "done");
  CHECK(status->at("sync").at("bytes_total").as_int64() >= 1 << 20);
  HttpClient client(hostd.http());
  CHECK(predict(client, "echo", "{}").status == 200);
  const std::string metrics = client.get("/metrics").body;
  CHECK(contains(metrics, "modelhost_sync_duration_seconds_total{model=\"echo\"}"));
  CHECK_FALSE(contains(metrics, "modelhost_sync_bytes_total{model=\"echo\"} 0\n"));

  // Nothing changed: a reload re-checks the files and keeps the generation.
  reply = admin.reload();
  CHECK(reload_action(reply, "echo") == "unchanged");
  CHECK(admin.model("echo")->at("generation") == 1);

  // A changed file: the next reload syncs it and loads a new generation.
  write(storage / "echo-files" / "config.json", R"({"layers": 2})");
  reply = admin.reload();
  CHECK(reload_action(reply, "echo") == "changed");
  CHECK(admin.model("echo")->at("generation") == 2);
  CHECK(read(files_dir / "config.json") == R"({"layers": 2})");
  CHECK(predict(client, "echo", "{}").status == 200);

  // A source that is not there: the model fails with the sync's reason; others are untouched.
  install_echo_model(hostd.models_dir(), "nofiles", "{}",
                     R"("download_files_from": "does-not-exist/")");
  reply = admin.reload();
  CHECK(reload_action(reply, "nofiles") == "failed");
  auto failed = admin.model("nofiles");
  CHECK(failed->at("state") == "failed");
  CHECK(contains(std::string(failed->at("error").as_string()), "sync failed"));
  CHECK(failed->at("sync").at("state") == "failed");
  CHECK(predict(client, "echo", "{}").status == 200);
}

TEST_CASE("api_key_guards_the_public_v1_routes") {
  HostdOptions options;
  options.extra_args = {"--api-key", "s3cret"};
  HostdProcess hostd(options);
  install_echo_model(hostd.models_dir(), "echo");
  reload_all(hostd);
  HttpClient client(hostd.http());
  auto refused = predict(client, "echo", "{}");
  CHECK(refused.status == 401);
  CHECK(refused.json().at("error").at("type") == "authentication_error");
  CHECK(client.request("POST", "/v1/models/echo/predict", "{}", {{"Authorization", "Bearer wrong"}})
            .status == 401);
  CHECK(
      client.request("POST", "/v1/models/echo/predict", "{}", {{"Authorization", "Bearer s3cret"}})
          .status == 200);
  CHECK(client.get("/v2/health/live").status == 200);  // probes stay open
  CHECK(client.get("/metrics").status == 200);
  // The admin socket's file permissions are its access control: no key needed there.
  HttpClient admin_socket(hostd.admin());
  CHECK(predict(admin_socket, "echo", "{}").status == 200);
}
