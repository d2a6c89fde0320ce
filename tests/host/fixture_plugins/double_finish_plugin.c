/* A misbehaving plugin for the host's tests: predict finishes every request twice and then
 * writes once more. The host must ignore (and log) the second finish and the late write. */
#include <modelhost/plugin.h>

#include <stdlib.h>

static void fixture_init(const mh_host* host, const mh_model_meta* meta, mh_init_done_fn done,
                         void* done_ctx) {
  (void)host;
  (void)meta;
  done(done_ctx, MH_OK, "", (mh_instance*)malloc(1));
}

static void fixture_predict(mh_instance* instance, const mh_request* request,
                            mh_response* response) {
  (void)instance;
  (void)request;
  response->finish(response, MH_OK, "{\"first\":true}", 14);
  response->finish(response, MH_OK, "{\"second\":true}", 15);
  response->write(response, "{}", 2);
}

static void fixture_cleanup(mh_instance* instance, mh_cleanup_done_fn done, void* done_ctx) {
  free(instance);
  done(done_ctx);
}

static const mh_plugin fixture_plugin = {
    sizeof(mh_plugin),
    MH_ABI_VERSION,
    "double-finish",
    "0.0.1",
    "finishes every request twice (a plugin bug the host must survive)",
    fixture_init,
    fixture_predict,
    fixture_cleanup,
    NULL,
};

MH_EXPORT const mh_plugin* mh_plugin_get(uint32_t host_abi_version) {
  (void)host_abi_version;
  return &fixture_plugin;
}
