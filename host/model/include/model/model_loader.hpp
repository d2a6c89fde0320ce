#pragma once
// Turns a scanned model into a loaded (not yet initialised) generation: copies its plugin into
// the private store, loads it through Boost.DLL with ABI negotiation, makes the instance.
#include "model/model_instance.hpp"
#include "model/models_directory.hpp"
#include "plugin/plugin_store.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <memory>

namespace mh::host {

struct LoaderServices {
  const PluginStore& store;
  LibraryUnloader& unloader;
  boost::asio::any_io_executor lifecycle;  // init timeouts, cleanup
  boost::asio::any_io_executor workers;    // predict calls
};

// Throws std::runtime_error (or PluginLoadError) naming the file and the reason.
std::shared_ptr<ModelInstance> load_model_instance(const ModelSource& model,
                                                   std::uint64_t generation,
                                                   const LoaderServices& services);

}  // namespace mh::host
