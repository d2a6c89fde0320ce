/* A plugin with the mh.plugin.stats/1 extension, for the host's tests: each instance counts
 * the requests it finished and its stats reads, and reports {"requests": N, "reads": M}.
 * Config "stats_error": true makes read fail with MH_UNAVAILABLE (without writing). Every
 * request finishes at once with {"ok":true}. */
#include <modelhost/plugin.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct stats_instance {
  atomic_long requests;
  atomic_long reads;
  int fail_reads;
} stats_instance;

/* Whether `text` (exactly `size` bytes) holds `needle`. */
static int contains(const char* text, size_t size, const char* needle) {
  size_t length = strlen(needle);
  for (size_t i = 0; text != NULL && i + length <= size; ++i) {
    if (memcmp(text + i, needle, length) == 0) return 1;
  }
  return 0;
}

static void fixture_init(const mh_host* host, const mh_model_meta* meta, mh_init_done_fn done,
                         void* done_ctx) {
  (void)host;
  stats_instance* self = (stats_instance*)calloc(1, sizeof(stats_instance));
  if (self == NULL) {
    done(done_ctx, MH_RESOURCE_EXHAUSTED, "out of memory", NULL);
    return;
  }
  atomic_init(&self->requests, 0);
  atomic_init(&self->reads, 0);
  self->fail_reads = contains(meta->config_json, meta->config_json_size, "\"stats_error\"");
  done(done_ctx, MH_OK, "", (mh_instance*)self);
}

static void fixture_predict(mh_instance* instance, const mh_request* request,
                            mh_response* response) {
  (void)request;
  stats_instance* self = (stats_instance*)instance;
  atomic_fetch_add(&self->requests, 1);
  response->finish(response, MH_OK, "{\"ok\":true}", 11);
}

static void fixture_cleanup(mh_instance* instance, mh_cleanup_done_fn done, void* done_ctx) {
  free(instance);
  done(done_ctx);
}

static mh_status fixture_read_stats(mh_instance* instance, mh_stats_write_fn write,
                                    void* write_ctx) {
  stats_instance* self = (stats_instance*)instance;
  if (self->fail_reads) return MH_UNAVAILABLE;
  long reads = atomic_fetch_add(&self->reads, 1) + 1;
  char json[96];
  int size = snprintf(json, sizeof json, "{\"requests\":%ld,\"reads\":%ld}",
                      atomic_load(&self->requests), reads);
  write(write_ctx, json, (size_t)size);
  return MH_OK;
}

static const mh_plugin_stats fixture_stats = {sizeof(mh_plugin_stats), fixture_read_stats};

static const void* fixture_get_extension(const char* extension_id) {
  if (strcmp(extension_id, MH_PLUGIN_STATS_EXTENSION) == 0) return &fixture_stats;
  return NULL;
}

static const mh_plugin fixture_plugin = {
    sizeof(mh_plugin),
    MH_ABI_VERSION,
    "stats",
    "0.0.1",
    "counts requests and reports them through mh.plugin.stats/1",
    fixture_init,
    fixture_predict,
    fixture_cleanup,
    fixture_get_extension,
};

MH_EXPORT const mh_plugin* mh_plugin_get(uint32_t host_abi_version) {
  (void)host_abi_version;
  return &fixture_plugin;
}
