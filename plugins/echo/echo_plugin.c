/*
 * echo: the smallest complete modelhost plugin, in plain C11.
 *
 * It answers every request with the request body, whatever its route (any MH_ROUTE_* name;
 * the reply says which):
 *   {"echo": <body>, "model": "<name>", "plugin": "echo", "version": "<version>", "route": "..."}
 * It has no extensions (get_extension is NULL).
 * Its manifest "config" (and, per request, the body) can ask for behaviour the host's tests need:
 *   "init_delay_ms": N     init completes after N ms (the model is "loading" meanwhile)
 *   "fail_init": "text"    init fails with that message
 *   "delay_ms": N          each reply comes after N ms (the body's "delay_ms" overrides)
 *   "stream_chunks": N     a streamed reply has N chunks (the body's "chunks" overrides)
 * Delayed and streamed requests run on a thread each and watch for cancellation every 5 ms;
 * immediate ones are answered inside predict.
 */
#include <modelhost/plugin.h>
#include <modelhost/version.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* modelhost's own version (CMake's project version); the hot-reload tests build a copy that
 * reports another one. */
#ifndef ECHO_PLUGIN_VERSION
#define ECHO_PLUGIN_VERSION MODELHOST_VERSION
#endif

/* ---- a tiny reader for flat JSON objects: enough for this plugin's numeric and string keys.
 * The host has already validated that the text is JSON. */

/* Finds `"key"` followed by ':' at any depth and returns the first character of its value. */
static const char* json_find_value(const char* json, size_t size, const char* key) {
  size_t key_len = strlen(key);
  const char* end = json + size;
  for (const char* p = json; p + key_len + 2 <= end; ++p) {
    if (*p != '"' || memcmp(p + 1, key, key_len) != 0 || p[key_len + 1] != '"') continue;
    const char* q = p + key_len + 2;
    while (q < end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')) ++q;
    if (q >= end || *q != ':') continue;
    ++q;
    while (q < end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')) ++q;
    return q < end ? q : NULL;
  }
  return NULL;
}

static long json_long(const char* json, size_t size, const char* key, long fallback) {
  const char* value = json_find_value(json, size, key);
  if (value == NULL || !((*value >= '0' && *value <= '9') || *value == '-')) return fallback;
  return strtol(value, NULL, 10);
}

/* Copies a string value without escapes into a new buffer; NULL when absent or not a string. */
static char* json_string(const char* json, size_t size, const char* key) {
  const char* value = json_find_value(json, size, key);
  if (value == NULL || *value != '"') return NULL;
  const char* close = memchr(value + 1, '"', (size_t)(json + size - value - 1));
  if (close == NULL) return NULL;
  size_t len = (size_t)(close - value - 1);
  char* copy = malloc(len + 1);
  if (copy == NULL) return NULL;
  memcpy(copy, value + 1, len);
  copy[len] = '\0';
  return copy;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
  }
}

/* ---- the instance */

typedef struct echo_instance {
  const mh_host* host;
  char* name;
  long delay_ms;
  long stream_chunks;
  pthread_mutex_t mutex;
  pthread_cond_t idle;
  long active_threads; /* request threads still running; cleanup waits for 0 */
} echo_instance;

static void echo_log(const echo_instance* self, mh_log_level level, const char* message) {
  if (self->host->log != NULL) self->host->log(self->host, level, message);
}

/* Builds the reply object; returns a malloc'd buffer the caller frees. */
static char* make_reply(const echo_instance* self, const mh_request* request, size_t* out_size) {
  static const char fmt[] =
      "{\"echo\":%.*s,\"model\":\"%s\",\"plugin\":\"echo\",\"version\":\"%s\",\"route\":\"%s\"}";
  size_t cap = request->body_size + strlen(self->name) + strlen(request->route) + sizeof(fmt) + 32;
  char* reply = malloc(cap);
  if (reply == NULL) return NULL;
  int n = snprintf(reply, cap, fmt, (int)request->body_size, request->body, self->name,
                   ECHO_PLUGIN_VERSION, request->route);
  *out_size = n < 0 ? 0 : (size_t)n;
  return reply;
}

static void answer(echo_instance* self, const mh_request* request, mh_response* response) {
  size_t size = 0;
  char* reply = make_reply(self, request, &size);
  if (reply == NULL) {
    response->finish(response, MH_RESOURCE_EXHAUSTED, "out of memory", 13);
    return;
  }
  response->finish(response, MH_OK, reply, size);
  free(reply);
}

/* Waits `ms`, checking for cancellation every 5 ms. Returns MH_OK or why it stopped. */
static mh_status wait_unless_cancelled(mh_response* response, long ms) {
  for (long waited = 0; waited < ms; waited += 5) {
    mh_status status = response->check_cancelled(response);
    if (status != MH_OK) return status;
    sleep_ms(ms - waited < 5 ? ms - waited : 5);
  }
  return response->check_cancelled(response);
}

typedef struct request_job {
  echo_instance* self;
  const mh_request* request;
  mh_response* response;
  long delay_ms;
  long chunks;
} request_job;

static void* run_request(void* arg) {
  request_job* job = arg;
  echo_instance* self = job->self;
  mh_status status = MH_OK;
  if (job->request->stream && job->chunks > 0) {
    long step = job->delay_ms / job->chunks;
    for (long i = 0; i < job->chunks && status == MH_OK; ++i) {
      status = wait_unless_cancelled(job->response, step);
      if (status != MH_OK) break;
      char chunk[96];
      int n = snprintf(chunk, sizeof chunk, "{\"chunk\":%ld,\"of\":%ld}", i + 1, job->chunks);
      status = job->response->write(job->response, chunk, (size_t)n);
    }
  } else {
    status = wait_unless_cancelled(job->response, job->delay_ms);
  }
  if (status == MH_OK) {
    answer(self, job->request, job->response);
  } else {
    char line[160];
    snprintf(line, sizeof line, "request %s stopped early: %s", job->request->id,
             status == MH_DEADLINE_EXCEEDED ? "deadline exceeded" : "cancelled");
    echo_log(self, MH_LOG_INFO, line);
    job->response->finish(job->response, status, "stopped", 7);
  }
  free(job);
  pthread_mutex_lock(&self->mutex);
  if (--self->active_threads == 0) pthread_cond_broadcast(&self->idle);
  pthread_mutex_unlock(&self->mutex);
  return NULL;
}

static void echo_predict(mh_instance* instance, const mh_request* request, mh_response* response) {
  echo_instance* self = (echo_instance*)instance;
  long delay = json_long(request->body, request->body_size, "delay_ms", self->delay_ms);
  long chunks = json_long(request->body, request->body_size, "chunks", self->stream_chunks);
  if (delay < 0 || chunks < 0) {
    response->finish(response, MH_INVALID_ARGUMENT, "delay_ms and chunks must be >= 0", 32);
    return;
  }
  if (delay == 0 && !(request->stream && chunks > 0)) {
    answer(self, request, response);
    return;
  }
  request_job* job = malloc(sizeof *job);
  if (job == NULL) {
    response->finish(response, MH_RESOURCE_EXHAUSTED, "out of memory", 13);
    return;
  }
  *job = (request_job){self, request, response, delay, chunks};
  pthread_mutex_lock(&self->mutex);
  ++self->active_threads;
  pthread_mutex_unlock(&self->mutex);
  pthread_t thread;
  if (pthread_create(&thread, NULL, run_request, job) != 0) {
    pthread_mutex_lock(&self->mutex);
    --self->active_threads;
    pthread_mutex_unlock(&self->mutex);
    free(job);
    response->finish(response, MH_RESOURCE_EXHAUSTED, "cannot start a thread", 21);
    return;
  }
  pthread_detach(thread);
}

static void free_instance(echo_instance* self) {
  pthread_mutex_destroy(&self->mutex);
  pthread_cond_destroy(&self->idle);
  free(self->name);
  free(self);
}

/* ---- init: immediate, or after init_delay_ms on a thread of its own */

typedef struct init_job {
  echo_instance* self;
  long delay_ms;
  char* failure;
  mh_init_done_fn done;
  void* done_ctx;
} init_job;

static void finish_init(init_job* job) {
  if (job->failure != NULL) {
    job->done(job->done_ctx, MH_INTERNAL, job->failure, NULL);
    free_instance(job->self);
  } else {
    echo_log(job->self, MH_LOG_INFO, "echo " ECHO_PLUGIN_VERSION " ready");
    job->done(job->done_ctx, MH_OK, "", (mh_instance*)job->self);
  }
  free(job->failure);
  free(job);
}

static void* run_init(void* arg) {
  init_job* job = arg;
  sleep_ms(job->delay_ms);
  finish_init(job);
  return NULL;
}

static void echo_init(const mh_host* host, const mh_model_meta* meta, mh_init_done_fn done,
                      void* done_ctx) {
  echo_instance* self = calloc(1, sizeof *self);
  init_job* job = calloc(1, sizeof *job);
  if (self == NULL || job == NULL || (self->name = strdup(meta->name)) == NULL) {
    if (self != NULL) free(self->name);
    free(self);
    free(job);
    done(done_ctx, MH_RESOURCE_EXHAUSTED, "out of memory", NULL);
    return;
  }
  const char* config = meta->config_json;
  size_t config_size = meta->config_json_size;
  self->host = host;
  self->delay_ms = json_long(config, config_size, "delay_ms", 0);
  self->stream_chunks = json_long(config, config_size, "stream_chunks", 3);
  pthread_mutex_init(&self->mutex, NULL);
  pthread_cond_init(&self->idle, NULL);
  *job = (init_job){self, json_long(config, config_size, "init_delay_ms", 0),
                    json_string(config, config_size, "fail_init"), done, done_ctx};
  if (self->delay_ms < 0 || self->stream_chunks < 0 || job->delay_ms < 0) {
    free(job->failure);
    job->failure = strdup("config: delay_ms, stream_chunks and init_delay_ms must be >= 0");
  }
  pthread_t thread;
  if (job->delay_ms > 0 && pthread_create(&thread, NULL, run_init, job) == 0) {
    pthread_detach(thread);
    return;
  }
  finish_init(job);
}

static void echo_cleanup(mh_instance* instance, mh_cleanup_done_fn done, void* done_ctx) {
  echo_instance* self = (echo_instance*)instance;
  /* Request threads see MH_CANCELLED from the host once it unloads and finish quickly. */
  pthread_mutex_lock(&self->mutex);
  while (self->active_threads > 0) pthread_cond_wait(&self->idle, &self->mutex);
  pthread_mutex_unlock(&self->mutex);
  echo_log(self, MH_LOG_INFO, "echo cleanup done");
  free_instance(self);
  done(done_ctx);
}

static const mh_plugin echo_plugin = {
    sizeof(mh_plugin),
    MH_ABI_VERSION,
    "echo",
    ECHO_PLUGIN_VERSION,
    "Echoes the request body; can delay, stream in chunks, or fail init (for tests)",
    echo_init,
    echo_predict,
    echo_cleanup,
    NULL,
};

MH_EXPORT const mh_plugin* mh_plugin_get(uint32_t host_abi_version) {
  (void)host_abi_version; /* the host compares majors and explains a mismatch */
  return &echo_plugin;
}
