/* A deliberately bad plugin: a request whose body contains "crash" dereferences NULL (SIGSEGV);
 * one containing "hold" is never finished (so a crash has requests in flight); any other is
 * echoed back. Init and cleanup behave. */
#include <modelhost/plugin.h>

#include <stdlib.h>
#include <string.h>

static int instance_token;

static int body_has(const mh_request* request, const char* word) {
  size_t n = strlen(word);
  for (size_t i = 0; i + n <= request->body_size; ++i) {
    if (memcmp(request->body + i, word, n) == 0) return 1;
  }
  return 0;
}

static void bad_init(const mh_host* host, const mh_model_meta* meta, mh_init_done_fn done,
                     void* done_ctx) {
  (void)host;
  (void)meta;
  done(done_ctx, MH_OK, "", (mh_instance*)&instance_token);
}

static void bad_predict(mh_instance* instance, const mh_request* request, mh_response* response) {
  (void)instance;
  if (body_has(request, "crash")) {
    volatile int* nowhere = NULL;
    *nowhere = 42;
  }
  if (body_has(request, "hold")) return;
  response->finish(response, MH_OK, request->body, request->body_size);
}

static void bad_cleanup(mh_instance* instance, mh_cleanup_done_fn done, void* done_ctx) {
  (void)instance;
  done(done_ctx);
}

static const mh_plugin plugin = {sizeof(mh_plugin),
                                 MH_ABI_VERSION,
                                 "segfault-in-predict",
                                 "1.0.0",
                                 "Segfaults on a request that asks for it",
                                 bad_init,
                                 bad_predict,
                                 bad_cleanup,
                                 NULL};

MH_EXPORT const mh_plugin* mh_plugin_get(uint32_t host_abi_version) {
  (void)host_abi_version;
  return &plugin;
}
