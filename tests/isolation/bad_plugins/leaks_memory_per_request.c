/* A deliberately bad plugin: every request allocates 32 MiB, touches it and never frees it.
 * When an allocation fails (an address-space limit, say) it aborts, as a C++ plugin does on an
 * uncaught std::bad_alloc. Otherwise it echoes the request's body. */
#include <modelhost/plugin.h>

#include <stdlib.h>
#include <string.h>

#define LEAK_BYTES ((size_t)32 << 20)

static int instance_token;

static void bad_init(const mh_host* host, const mh_model_meta* meta, mh_init_done_fn done,
                     void* done_ctx) {
  (void)host;
  (void)meta;
  done(done_ctx, MH_OK, "", (mh_instance*)&instance_token);
}

static void bad_predict(mh_instance* instance, const mh_request* request, mh_response* response) {
  (void)instance;
  char* leaked = malloc(LEAK_BYTES);
  if (leaked == NULL) abort();
  memset(leaked, 1, LEAK_BYTES); /* really used: resident, not only reserved */
  response->finish(response, MH_OK, request->body, request->body_size);
}

static void bad_cleanup(mh_instance* instance, mh_cleanup_done_fn done, void* done_ctx) {
  (void)instance;
  done(done_ctx);
}

static const mh_plugin plugin = {sizeof(mh_plugin),
                                 MH_ABI_VERSION,
                                 "leaks-memory-per-request",
                                 "1.0.0",
                                 "Leaks 32 MiB per request; aborts when memory runs out",
                                 bad_init,
                                 bad_predict,
                                 bad_cleanup,
                                 NULL};

MH_EXPORT const mh_plugin* mh_plugin_get(uint32_t host_abi_version) {
  (void)host_abi_version;
  return &plugin;
}
