#pragma once
// The seam between the model layer and a plugin: the mh_plugin table of plugin.h as a C++
// interface, so that a model generation drives its plugin the same way whether the plugin runs
// in hostd's own process (InProcessBackend) or in a runner process of its own
// (isolation::ProcessBackend).
//
// Each member mirrors the table's function of the same name and keeps its contract exactly
// (sdk/include/modelhost/plugin.h is the reference): the same arguments with the same owners
// and lifetimes, the same threads, the same "returns at once, completes through a callback
// exactly once" rule. In particular:
// - init: `host` [owner: caller; valid: until cleanup's done for this instance]; `meta`
//   [owner: caller; valid: during the call]. `done` exactly once, from any thread, also from
//   inside init. [thread: a host worker thread, never an HTTP I/O thread]
// - predict: `request` and `response` [owner: caller; valid: until the response's finish
//   returns]; writes, then exactly one finish, from any thread. Never before init's done
//   reported MH_OK, never after cleanup began. [thread: a host worker thread]
// - cleanup: once per successful init, after the requests finished or the drain time ran out;
//   `done` exactly once. [thread: a host worker thread]
// - get_extension: NULL when absent; the table returned [owner: backend; valid: as long as the
//   backend]. [thread: any]
// No member throws: every failure reaches the caller through the callbacks, as with a plugin.
//
// A backend is shared (std::shared_ptr) by everything that may still call into it; it is
// destroyed only after cleanup's done (or when init never delivered an instance).
#include <modelhost/plugin.h>

#include <cstdint>
#include <string>

namespace mh::host {

class PluginBackend {
 public:
  virtual ~PluginBackend() = default;
  PluginBackend(const PluginBackend&) = delete;
  PluginBackend& operator=(const PluginBackend&) = delete;

  // The plugin's identity (mh_plugin.name, .version, .description, .abi_version).
  virtual std::string name() const = 0;
  virtual std::string version() const = 0;
  virtual std::string description() const = 0;
  virtual std::uint32_t abi_version() const noexcept = 0;

  virtual void init(const mh_host* host, const mh_model_meta* meta, mh_init_done_fn done,
                    void* done_ctx) noexcept = 0;
  virtual void predict(mh_instance* instance, const mh_request* request,
                       mh_response* response) noexcept = 0;
  virtual void cleanup(mh_instance* instance, mh_cleanup_done_fn done, void* done_ctx) noexcept = 0;
  virtual const void* get_extension(const char* extension_id) const noexcept = 0;

 protected:
  PluginBackend() = default;
};

}  // namespace mh::host
