/* A deliberately bad plugin: init calls abort() (SIGABRT) before answering. */
#include <modelhost/plugin.h>

#include <stdlib.h>

static void bad_init(const mh_host* host, const mh_model_meta* meta, mh_init_done_fn done,
                     void* done_ctx) {
  (void)meta;
  (void)done;
  (void)done_ctx;
  host->log(host, MH_LOG_ERROR, "about to abort in init");
  abort();
}

static void bad_predict(mh_instance* instance, const mh_request* request, mh_response* response) {
  (void)instance;
  response->finish(response, MH_OK, request->body, request->body_size);
}

static void bad_cleanup(mh_instance* instance, mh_cleanup_done_fn done, void* done_ctx) {
  (void)instance;
  done(done_ctx);
}

static const mh_plugin plugin = {sizeof(mh_plugin), MH_ABI_VERSION,   "abort-in-init",
                                 "1.0.0",           "Aborts in init", bad_init,
                                 bad_predict,       bad_cleanup,      NULL};

MH_EXPORT const mh_plugin* mh_plugin_get(uint32_t host_abi_version) {
  (void)host_abi_version;
  return &plugin;
}
