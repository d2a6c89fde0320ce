#pragma once
// Turns a scanned model into a loaded (not yet initialised) generation: its plugin, already
// copied into the private store, runs either in hostd (InProcessBackend: loaded here with ABI
// negotiation) or in a runner process of its own (isolation::ProcessBackend: spawned here,
// the runner loads it with the same checks). Either way errors name the operator's file.
#include "model/isolation_policy.hpp"
#include "model/model_instance.hpp"
#include "model/models_directory.hpp"
#include "plugin/library_unloader.hpp"
#include "plugin/plugin_store.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <memory>

namespace mh::isolation {
class ProcessBackend;
}

namespace mh::host {

struct LoaderServices {
  const PluginStore& store;
  LibraryUnloader& unloader;
  boost::asio::any_io_executor lifecycle;  // init timeouts, cleanup
  boost::asio::any_io_executor workers;    // predict calls
};

// hostd-wide settings a model.json may override.
struct IsolationDefaults {
  Isolation isolation = Isolation::none;    // hostd --default-isolation (its default: process)
  std::uint64_t max_body_bytes = 1u << 20;  // hostd --max-body-bytes: bounds a runner's frames
  std::chrono::milliseconds stuck_grace{10'000};
};

struct LoadedGeneration {
  std::shared_ptr<ModelInstance> instance;
  // The runner of an isolated generation (owned by the instance, through its backend); null
  // for an in-process one.
  std::shared_ptr<isolation::ProcessBackend> process;
};

// How `model` runs: its model.json's "isolation", else the default.
Isolation isolation_of(const ModelSource& model, const IsolationDefaults& defaults);

// Loads the plugin copy `stored` of `model`. Blocks up to a runner's handshake: call on a
// lifecycle worker. Throws std::runtime_error (or PluginLoadError) naming the operator's file
// and the reason.
LoadedGeneration load_model_instance(const ModelSource& model, std::uint64_t generation,
                                     const StoredPlugin& stored, const LoaderServices& services,
                                     const IsolationDefaults& defaults);

}  // namespace mh::host
