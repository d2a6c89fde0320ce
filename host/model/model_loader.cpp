#include "model/model_loader.hpp"

#include "isolation/process_backend.hpp"
#include "plugin/in_process_backend.hpp"

#include <algorithm>

namespace mh::host {

namespace {

// Room in a runner's frames beyond the largest body (the request's id, route, framing).
constexpr std::size_t kFrameOverhead = 64 * 1024;

isolation::ProcessSettings process_settings(const ModelSource& model, std::uint64_t generation,
                                            const StoredPlugin& stored,
                                            const IsolationDefaults& defaults) {
  const Manifest& manifest = *model.manifest;
  isolation::ProcessSettings settings;
  settings.model = model.name;
  settings.log_name = model.name + "#" + std::to_string(generation);
  settings.plugin_path = stored.path;
  settings.shown_path = model.plugin_path;
  settings.limits.address_space_bytes = manifest.limits.address_space_bytes;
  settings.limits.cpus = manifest.limits.cpus;
  settings.limits.core_dumps = manifest.limits.core_dumps;
  settings.limits.environment = manifest.limits.environment;
  settings.max_frame_payload =
      std::max<std::size_t>(settings.max_frame_payload,
                            static_cast<std::size_t>(defaults.max_body_bytes) + kFrameOverhead);
  return settings;
}

}  // namespace

Isolation isolation_of(const ModelSource& model, const IsolationDefaults& defaults) {
  return model.manifest && model.manifest->isolation ? *model.manifest->isolation
                                                     : defaults.isolation;
}

LoadedGeneration load_model_instance(const ModelSource& model, std::uint64_t generation,
                                     const StoredPlugin& stored, const LoaderServices& services,
                                     const IsolationDefaults& defaults) {
  const Manifest& manifest = *model.manifest;
  InstanceSpec spec;
  spec.name = model.name;
  spec.generation = generation;
  spec.manifest_dir = model.dir;
  spec.files_dir = model.files_dir();
  spec.config_json = manifest.config_json;
  spec.max_concurrency = manifest.max_concurrency;
  spec.max_queue = manifest.max_queue;
  spec.timeout_ms = manifest.timeout_ms;
  spec.isolation = isolation_of(model, defaults);
  spec.stuck_grace = manifest.stuck_grace_ms ? std::chrono::milliseconds(*manifest.stuck_grace_ms)
                                             : defaults.stuck_grace;
  LoadedGeneration loaded;
  std::shared_ptr<PluginBackend> backend;
  if (spec.isolation == Isolation::none) {
    backend = InProcessBackend::load(stored.path, model.plugin_path, &services.unloader);
  } else {
    loaded.process =
        isolation::ProcessBackend::start(process_settings(model, generation, stored, defaults));
    backend = loaded.process;
  }
  loaded.instance = ModelInstance::create(std::move(spec), std::move(backend), services.lifecycle,
                                          services.workers);
  return loaded;
}

}  // namespace mh::host
