// hostctl: the operator's CLI for hostd. Parses the command line (CLI11), finds hostd's admin
// endpoint and runs one subcommand; errors become the exit codes of exit_codes.hpp.
#include <modelhost/version.h>
#include <CLI/CLI.hpp>
#include <iostream>

#include "admin_client.hpp"
#include "admin_endpoint.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"

namespace {

using namespace hostctl;

constexpr const char* kExitCodes =
    "Exit codes: 0 ok, 1 the operation failed, 2 usage error, 3 hostd is not running or "
    "cannot be reached.";

std::string footer(const std::string& details, const std::string& examples) {
  return "\n" + details + "\n\nExamples:\n" + examples + "\n\n" + kExitCodes + "\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "hostctl: operate a running hostd (reload, status, predict, unload, sync) through its "
      "admin API, and start new plugin projects (init).",
      "hostctl"};
  app.fallthrough();  // the admin options may come after the subcommand too
  app.require_subcommand(1);
  app.set_version_flag("--version", "hostctl " MODELHOST_VERSION);

  AdminEndpointFlags endpoint_flags;
  std::string admin_socket, admin_url, admin_token;
  auto* socket_option = app.add_option(
      "--admin-socket", admin_socket,
      "hostd's admin socket (hostd --admin-socket). Default: $MODELHOST_ADMIN_SOCKET, else " +
          default_admin_socket_path());
  auto* url_option = app.add_option("--admin-url", admin_url,
                                    "hostd's TCP admin listener (hostd --admin-listen), e.g. "
                                    "http://10.0.0.5:9090; needs a token");
  auto* token_option =
      app.add_option("--admin-token", admin_token,
                     "the bearer token for --admin-url. Default: $MODELHOST_ADMIN_TOKEN");
  url_option->excludes(socket_option);

  // reload
  ReloadOptions reload;
  std::string reload_name;
  auto* reload_cmd =
      app.add_subcommand("reload", "Rescan the models directory and apply what changed");
  reload_cmd->add_option("name", reload_name, "only this model (default: all)");
  auto* wait_flag = reload_cmd->add_flag(
      "--wait", reload.wait, "answer only when every affected model is ready, failed or unloaded");
  reload_cmd
      ->add_option("--timeout", reload.timeout_s, "with --wait: seconds to wait (default 600)")
      ->needs(wait_flag)
      ->check(CLI::PositiveNumber);
  reload_cmd->footer(footer(
      "New models load; a changed model loads beside its old generation, which keeps serving\n"
      "until the new one is ready; removed models drain and unload; unchanged ones stay.\n"
      "Prints one line per model: NAME ACTION STATE [ERROR], and on stderr the scan's\n"
      "warnings (e.g. unknown model.json keys) as \"warning: NAME: ...\". Exits 1 if any\n"
      "model failed.",
      "  hostctl reload                 # all models, returns at once\n"
      "  hostctl reload echo --wait     # one model, returns when it is ready or failed"));

  // status
  StatusOptions status;
  auto* status_cmd = app.add_subcommand("status", "Show hostd and its models as a table");
  status_cmd->add_flag("--json", status.json, "print hostd's status JSON as it is, for scripts");
  status_cmd->footer(footer(
      "Columns: NAME STATE GEN PLUGIN VERSION IN-FLIGHT SYNC ERROR. STATE is one of syncing,\n"
      "loading, ready, draining, unloaded, failed. GEN shows a new generation on its way as\n"
      "\"3 (+4 loading)\"; an older generation still finishing its requests gets a line of\n"
      "its own under its model (STATE draining, its GEN and IN-FLIGHT). SYNC shows bytes\n"
      "synced of the total, \"up-to-date\" when the latest sync had nothing to transfer, \"-\"\n"
      "when none ran. ERROR is the last failure, also when an older generation still serves.",
      "  hostctl status\n"
      "  hostctl status --json | jq '.models[] | {name, state}'"));

  // predict
  PredictOptions predict;
  auto* predict_cmd = app.add_subcommand("predict", "Call a model and print its reply");
  predict_cmd->add_option("name", predict.name, "the model")->required();
  predict_cmd
      ->add_option("-d,--data", predict.data,
                   "the JSON request body, or @FILE to read it from a file, or @- from stdin")
      ->required();
  predict_cmd->add_flag("--stream", predict.stream,
                        "ask for Server-Sent Events and print each event's data line as it "
                        "arrives");
  predict_cmd
      ->add_option("--timeout", predict.timeout_s,
                   "seconds to wait for the reply, or with --stream for each event (default 600)")
      ->check(CLI::PositiveNumber);
  predict_cmd->footer(footer(
      "Sends POST /v1/models/NAME/predict through the admin endpoint (hostd serves the public\n"
      "routes there too). An error reply prints its message and exits 1.",
      "  hostctl predict echo -d '{\"text\": \"hello\"}'\n"
      "  hostctl predict llama -d @request.json --stream"));

  // unload
  UnloadOptions unload;
  auto* unload_cmd = app.add_subcommand("unload", "Drain a model and unload it");
  unload_cmd->add_option("name", unload.name, "the model")->required();
  unload_cmd->footer(footer(
      "Stops routing to the model, lets its requests in flight finish, runs its cleanup and\n"
      "unloads it. Its folder stays, so a later reload loads it again.",
      "  hostctl unload echo"));

  // sync
  SyncOptions sync;
  auto* sync_cmd = app.add_subcommand("sync", "Fetch a model's files again, showing the progress");
  sync_cmd->add_option("name", sync.name, "the model")->required();
  sync_cmd
      ->add_option("--timeout", sync.timeout_s,
                   "give up waiting after this many seconds (hostd carries on); default: no limit")
      ->check(CLI::PositiveNumber);
  sync_cmd->footer(footer(
      "Syncs what model.json's download_files_from holds into its download_files_to. Shows a\n"
      "bar with bytes, percent, rate and the current file on a terminal, plain lines\n"
      "otherwise. Changed files load as a new generation and hostctl waits for it. Exits 0 when\n"
      "the files are synced and the model is ready, 1 when the sync or the load failed.",
      "  hostctl sync llama-1b-instruct"));

  // init
  InitOptions init;
  auto* init_cmd = app.add_subcommand("init", "Write a new plugin project (needs no hostd)");
  init_cmd
      ->add_option("name", init.name,
                   "the model's name: lowercase letters, digits, '-' and '_', starting with a "
                   "letter or digit")
      ->required();
  init_cmd->add_option("--dir", init.dir, "create NAME/ in this folder (default: .)");
  init_cmd->footer(footer(
      "Writes NAME/CMakeLists.txt (find_package(ModelHost)), NAME/src/NAME_model.cpp (a C++\n"
      "model class over the SDK helper), NAME/model.json and NAME/README.md. The project builds\n"
      "as it is against the installed modelhost SDK, into NAME/libNAME.so. Refuses a folder\n"
      "that exists and is not empty.",
      "  hostctl init sentiment\n"
      "  cmake -S sentiment -B sentiment/build -DCMAKE_PREFIX_PATH=$HOME/.local/modelhost\n"
      "  cmake --build sentiment/build"));

  app.footer("\nRun `hostctl SUBCOMMAND --help` for a subcommand's options.\n" +
             std::string(kExitCodes) + "\n");

  if (argc < 2) {
    std::cerr << app.help();
    return kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);  // prints the help, or the error and a hint
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (socket_option->count() > 0) endpoint_flags.admin_socket = admin_socket;
  if (url_option->count() > 0) endpoint_flags.admin_url = admin_url;
  if (token_option->count() > 0) endpoint_flags.admin_token = admin_token;
  if (!reload_name.empty()) reload.name = reload_name;

  try {
    if (init_cmd->parsed()) return run_init(init);
    AdminClient client(resolve_admin_endpoint(endpoint_flags));
    if (reload_cmd->parsed()) return run_reload(client, reload);
    if (status_cmd->parsed()) return run_status(client, status);
    if (predict_cmd->parsed()) return run_predict(client, predict);
    if (unload_cmd->parsed()) return run_unload(client, unload);
    if (sync_cmd->parsed()) return run_sync(client, sync);
  } catch (const UsageError& error) {
    std::cerr << "hostctl: " << error.what() << "\nRun with --help for more information.\n";
    return kExitUsage;
  } catch (const HostdUnreachable& error) {
    std::cerr << "hostctl: " << error.what() << '\n';
    return kExitUnreachable;
  } catch (const OperationFailed& error) {
    std::cerr << "hostctl: " << error.what() << '\n';
    return kExitFailed;
  } catch (const std::exception& error) {
    std::cerr << "hostctl: " << error.what() << '\n';
    return kExitFailed;
  }
  return kExitUsage;
}
