// The plugin's entry point: the ABI glue between modelhost and LlamaService.
//
// init builds a LlamaService on a plugin thread (plugin.hpp runs the constructor there);
// predict hands the request to it at once — generation is queued on the model's scheduler
// thread, so predict never blocks the host; cleanup destroys it, which finishes open
// requests with MH_CANCELLED and releases the weights, the KV cache and GPU memory.
// stats() makes plugin.hpp export the mh.plugin.stats/1 extension (the scheduler's counters).
#include "exception_message.hpp"
#include "llama_service.hpp"

#include <modelhost/version.h>
#include <modelhost/plugin.hpp>

#include <filesystem>

namespace {

std::filesystem::path model_directory(const mh::ModelContext& context,
                                      const mh::llama::ServiceConfig& config) {
  if (config.model_dir.empty()) return context.files_dir;
  std::filesystem::path dir = config.model_dir;
  return dir.is_absolute() ? dir : std::filesystem::path(context.manifest_dir) / dir;
}

class LlamaPlugin {
 public:
  static constexpr bool kPredictInline = true;

  explicit LlamaPlugin(const mh::ModelContext& context) {
    mh::llama::LogFunction log = [host = context.host](mh_log_level level,
                                                       const std::string& message) {
      if (host != nullptr && host->log != nullptr) host->log(host, level, message.c_str());
    };
    try {
      const mh::llama::ServiceConfig config =
          mh::llama::parse_service_config(context.config_json, log);
      service_ = std::make_unique<mh::llama::LlamaService>(model_directory(context, config), config,
                                                           context.name, log);
    } catch (const mh::Error&) {
      throw;
    } catch (const std::exception& error) {
      // A libtorch error (out of memory, a bad device) carries a backtrace: the log gets it,
      // the model's status one line.
      log(MH_LOG_ERROR, "loading failed: " + mh::llama::log_message(error));
      throw mh::Error(MH_INTERNAL, mh::llama::client_message(error));
    }
  }

  void predict(mh::Request request, mh::Response& response) { service_->handle(request, response); }

  // mh.plugin.stats/1: called on host threads beside running requests; atomic reads only.
  std::string stats() const { return service_->stats_json(); }

 private:
  std::unique_ptr<mh::llama::LlamaService> service_;
};

}  // namespace

MH_PLUGIN(LlamaPlugin, "llama", MODELHOST_VERSION,
          "Llama 3.x from Hugging Face files (safetensors) in libtorch, on the CPU or CUDA")
