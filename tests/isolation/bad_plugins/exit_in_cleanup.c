/* A deliberately bad plugin: cleanup calls exit(42) instead of calling done. */
#include <modelhost/plugin.h>

#include <stdlib.h>

static int instance_token;

static void bad_init(const mh_host* host, const mh_model_meta* meta, mh_init_done_fn done,
                     void* done_ctx) {
  (void)host;
  (void)meta;
  done(done_ctx, MH_OK, "", (mh_instance*)&instance_token);
}

static void bad_predict(mh_instance* instance, const mh_request* request, mh_response* response) {
  (void)instance;
  response->finish(response, MH_OK, request->body, request->body_size);
}

static void bad_cleanup(mh_instance* instance, mh_cleanup_done_fn done, void* done_ctx) {
  (void)instance;
  (void)done;
  (void)done_ctx;
  exit(42);
}

static const mh_plugin plugin = {
    sizeof(mh_plugin), MH_ABI_VERSION, "exit-in-cleanup", "1.0.0", "Exits the process in cleanup",
    bad_init,          bad_predict,    bad_cleanup,       NULL};

MH_EXPORT const mh_plugin* mh_plugin_get(uint32_t host_abi_version) {
  (void)host_abi_version;
  return &plugin;
}
