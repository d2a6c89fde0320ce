#include "model/model_loader.hpp"

#include <spdlog/spdlog.h>

namespace mh::host {

std::shared_ptr<ModelInstance> load_model_instance(const ModelSource& model,
                                                   std::uint64_t generation,
                                                   const LoaderServices& services) {
  const StoredPlugin stored = services.store.store(model.plugin_path);
  spdlog::debug("model {}: plugin {} copied to {}", model.name, model.plugin_path.string(),
                stored.path.string());
  auto library = PluginLibrary::load(stored.path);
  InstanceSpec spec;
  spec.name = model.name;
  spec.generation = generation;
  spec.manifest_dir = model.dir;
  spec.files_dir = model.files_dir();
  spec.config_json = model.manifest->config_json;
  spec.max_concurrency = model.manifest->max_concurrency;
  spec.max_queue = model.manifest->max_queue;
  spec.timeout_ms = model.manifest->timeout_ms;
  return ModelInstance::create(std::move(spec), std::move(library), services.unloader,
                               services.lifecycle, services.workers);
}

}  // namespace mh::host
