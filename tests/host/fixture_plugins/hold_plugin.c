/* A plugin that holds every request until its instance is cleaned up, for the host's tests of
 * deadlines and draining: predict keeps the response and never looks at check_cancelled, so
 * only the host can answer the client before cleanup; cleanup finishes every held response
 * with MH_CANCELLED (as plugin.h asks after a drain timeout), then reports done. */
#include <modelhost/plugin.h>

#include <pthread.h>
#include <stdlib.h>

#define HOLD_MAX 64

typedef struct hold_instance {
  pthread_mutex_t mutex;
  mh_response* held[HOLD_MAX];
  int count;
} hold_instance;

static void fixture_init(const mh_host* host, const mh_model_meta* meta, mh_init_done_fn done,
                         void* done_ctx) {
  (void)host;
  (void)meta;
  hold_instance* self = (hold_instance*)calloc(1, sizeof(hold_instance));
  if (self == NULL) {
    done(done_ctx, MH_RESOURCE_EXHAUSTED, "out of memory", NULL);
    return;
  }
  pthread_mutex_init(&self->mutex, NULL);
  done(done_ctx, MH_OK, "", (mh_instance*)self);
}

static void fixture_predict(mh_instance* instance, const mh_request* request,
                            mh_response* response) {
  (void)request;
  hold_instance* self = (hold_instance*)instance;
  pthread_mutex_lock(&self->mutex);
  const int kept = self->count < HOLD_MAX;
  if (kept) self->held[self->count++] = response;
  pthread_mutex_unlock(&self->mutex);
  if (!kept) response->finish(response, MH_RESOURCE_EXHAUSTED, "too many held requests", 22);
}

static void fixture_cleanup(mh_instance* instance, mh_cleanup_done_fn done, void* done_ctx) {
  hold_instance* self = (hold_instance*)instance;
  pthread_mutex_lock(&self->mutex);
  const int count = self->count;
  self->count = 0;
  pthread_mutex_unlock(&self->mutex);
  for (int i = 0; i < count; ++i) self->held[i]->finish(self->held[i], MH_CANCELLED, "cleanup", 7);
  pthread_mutex_destroy(&self->mutex);
  free(self);
  done(done_ctx);
}

static const mh_plugin fixture_plugin = {
    sizeof(mh_plugin),
    MH_ABI_VERSION,
    "hold",
    "0.0.1",
    "holds every request until cleanup",
    fixture_init,
    fixture_predict,
    fixture_cleanup,
    NULL,
};

MH_EXPORT const mh_plugin* mh_plugin_get(uint32_t host_abi_version) {
  (void)host_abi_version;
  return &fixture_plugin;
}
