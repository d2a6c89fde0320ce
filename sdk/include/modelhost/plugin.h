/*
 * modelhost plugin contract, ABI version 1.
 *
 * A modelhost plugin is a shared library that exports exactly one symbol, `mh_plugin_get`
 * (see MH_PLUGIN_ENTRY_SYMBOL). The host (hostd) loads the library, negotiates the ABI
 * version, and then drives each model instance through three asynchronous calls:
 *
 *     init ──► predict (any number, concurrently) ──► cleanup
 *
 * Every call returns at once and completes through a callback that the plugin may invoke from
 * any thread, including from inside the call itself.
 *
 * This header is C11 and C++ clean and is the whole contract: if behaviour is not written
 * here, neither side may rely on it.
 *
 * Conventions used throughout
 * ---------------------------
 * - Versioning. Every struct that crosses the boundary starts with `uint32_t struct_size`,
 *   set by whoever fills the struct to `sizeof` of the struct as *it* was compiled. Fields are
 *   only ever appended; a reader must check `struct_size` before touching a field that was
 *   added after version 1.0 (use MH_HAS_FIELD). Members are never removed or reordered: the
 *   layout of version 1.0 is pinned by static_assert tests (tests/sdk/plugin_layout_test.cpp).
 * - Version numbers. MH_ABI_VERSION packs major << 16 | minor. The major must match exactly;
 *   the minor is append-only (a newer minor only adds fields, functions and extensions).
 * - Strings are UTF-8. A `const char*` is NUL-terminated unless it is paired with a `_size`
 *   field, in which case it is exactly `_size` bytes and need not be NUL-terminated.
 * - Ownership and lifetime are written beside every pointer as [owner: ..., valid: ...].
 * - Threads are written beside every function as [thread: ...].
 * - Nothing C++ crosses: no exceptions, no classes, no allocator. Memory is freed by whoever
 *   allocated it. A plugin written in C++ must catch every exception at the boundary
 *   (modelhost/plugin.hpp does this for you).
 * - Errors cross as an mh_status code plus a UTF-8 message. The host maps codes to HTTP
 *   statuses in one table; plugins never see HTTP.
 */
#ifndef MODELHOST_PLUGIN_H
#define MODELHOST_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------- */
/* Versions and export                                                                       */
/* ---------------------------------------------------------------------------------------- */

#define MH_ABI_VERSION_MAJOR 1u
#define MH_ABI_VERSION_MINOR 0u
#define MH_ABI_MAKE_VERSION(major, minor) (((uint32_t)(major) << 16) | (uint32_t)(minor))
#define MH_ABI_VERSION MH_ABI_MAKE_VERSION(MH_ABI_VERSION_MAJOR, MH_ABI_VERSION_MINOR)
#define MH_ABI_MAJOR_OF(version) ((uint32_t)(version) >> 16)
#define MH_ABI_MINOR_OF(version) ((uint32_t)(version)&0xFFFFu)

/* The name of the one symbol a plugin exports. */
#define MH_PLUGIN_ENTRY_SYMBOL "mh_plugin_get"

/* True when a struct filled by the other side is large enough to hold `field`. */
#define MH_HAS_FIELD(struct_ptr, type, field) \
  ((struct_ptr)->struct_size >= offsetof(type, field) + sizeof(((type*)0)->field))

#if defined(_WIN32)
#define MH_EXPORT __declspec(dllexport)
#else
#define MH_EXPORT __attribute__((visibility("default")))
#endif

/* ---------------------------------------------------------------------------------------- */
/* Status codes                                                                              */
/* ---------------------------------------------------------------------------------------- */

/* Append-only. The host's HTTP mapping is given for orientation; the host owns it. */
typedef enum mh_status {
  MH_OK = 0,                  /* success                                        HTTP 200 */
  MH_INVALID_ARGUMENT = 1,    /* the request (or config) is wrong; name the key HTTP 400 */
  MH_NOT_FOUND = 2,           /* a named thing does not exist                   HTTP 404 */
  MH_UNAVAILABLE = 3,         /* not ready now; retrying later may work         HTTP 503 */
  MH_RESOURCE_EXHAUSTED = 4,  /* out of memory, queue full, too many requests   HTTP 429 */
  MH_DEADLINE_EXCEEDED = 5,   /* the request's deadline passed                  HTTP 504 */
  MH_CANCELLED = 6,           /* the client went away or the host is unloading  HTTP 499 */
  MH_INTERNAL = 7,            /* a bug or an unexpected failure                 HTTP 500 */
  MH_UNIMPLEMENTED = 8,       /* this plugin does not serve the route           HTTP 501 */
  MH_FAILED_PRECONDITION = 9, /* the call is not valid in the current state     HTTP 409 */
  MH_PERMISSION_DENIED = 10   /* not allowed                                    HTTP 403 */
} mh_status;

typedef enum mh_log_level {
  MH_LOG_TRACE = 0,
  MH_LOG_DEBUG = 1,
  MH_LOG_INFO = 2,
  MH_LOG_WARN = 3,
  MH_LOG_ERROR = 4
} mh_log_level;

/* Opaque handle for one initialised model instance. The plugin defines what it points to;
 * the host only stores it and passes it back. */
typedef struct mh_instance mh_instance;

/* ---------------------------------------------------------------------------------------- */
/* Routes                                                                                    */
/* ---------------------------------------------------------------------------------------- */

/* The values mh_request.route takes. A route names what is asked, not the HTTP path that asked
 * it: the host maps its HTTP routes onto these (see the host's route table). Append-only; a
 * plugin answers MH_UNIMPLEMENTED for a route it does not serve, and compares with strcmp
 * (the host may pass another pointer to the same text). Features that are not a request with
 * a body (counters, metadata) are extensions, not routes: see "Plugin extensions" below.
 *   MH_ROUTE_PREDICT           POST /v1/models/{name}/predict — the model's own JSON schema
 *   MH_ROUTE_CHAT_COMPLETIONS  POST /v1/chat/completions — OpenAI's chat request body
 *   MH_ROUTE_COMPLETIONS       POST /v1/completions — OpenAI's completion request body
 *   MH_ROUTE_TOKENIZE          POST /v1/models/{name}/tokenize — {"text"} -> {"ids"}
 *   MH_ROUTE_DETOKENIZE        POST /v1/models/{name}/detokenize — {"ids"} -> {"text"} */
#define MH_ROUTE_PREDICT "predict"
#define MH_ROUTE_CHAT_COMPLETIONS "chat.completions"
#define MH_ROUTE_COMPLETIONS "completions"
#define MH_ROUTE_TOKENIZE "tokenize"
#define MH_ROUTE_DETOKENIZE "detokenize"

/* ---------------------------------------------------------------------------------------- */
/* What the host gives the plugin                                                            */
/* ---------------------------------------------------------------------------------------- */

typedef struct mh_host mh_host;

/* The host's services for one model instance.
 * [owner: host; valid: from the init call until the plugin calls cleanup's done callback]
 * Every function pointer here may be called from any thread, concurrently. */
struct mh_host {
  uint32_t struct_size;
  /* The ABI version the host implements (MH_ABI_VERSION of the host's build). */
  uint32_t abi_version;

  /* Writes one line to the host's log, attributed to this model. `message` is NUL-terminated
   * UTF-8 [owner: caller; valid: during the call]. Never blocks for long.
   * [thread: any] */
  void (*log)(const mh_host* host, mh_log_level level, const char* message);

  /* Looks up an optional host feature by string id with revision, e.g. "mh.host.metrics/1".
   * `extension_id` is NUL-terminated [owner: caller; valid: during the call].
   * Returns NULL when the host does not have it. The returned table is
   * [owner: host; valid: as long as this mh_host]. ABI 1.0 hosts define no extensions yet.
   * [thread: any] */
  const void* (*get_extension)(const mh_host* host, const char* extension_id);

  /* Private to the host. */
  void* host_data;
};

/* Everything the plugin needs to know to initialise one model.
 * [owner: host; valid: during the init call only — copy what you keep] */
typedef struct mh_model_meta {
  uint32_t struct_size;
  /* The model's name as routed over HTTP (the models directory entry). */
  const char* name;
  /* The directory holding the model's synced files (`download_files_to`), or the manifest
   * directory when the model has no files to sync. The files in it are complete: the host
   * never hands a plugin a half-written file. Files may be replaced by rename while the model
   * runs (a later generation syncing); already-open or mapped files stay valid. */
  const char* files_dir;
  /* The directory holding model.json (and usually the plugin itself). */
  const char* manifest_dir;
  /* The manifest's "config" object as JSON text ("{}" when absent). */
  const char* config_json;
  size_t config_json_size;
  /* Increases each time this model name is loaded anew (hot reload creates a new generation
   * beside the old one; both may be alive at once while the old one drains). */
  uint64_t generation;
} mh_model_meta;

/* One inference request.
 * [owner: host; valid: until the plugin calls finish on the paired mh_response] */
typedef struct mh_request {
  uint32_t struct_size;
  /* A unique id, for logs (e.g. "req-1f3a…"). */
  const char* id;
  /* What is asked: one of the MH_ROUTE_* names above ("predict", "chat.completions", ...).
   * A plugin answers MH_UNIMPLEMENTED for a route it does not serve. */
  const char* route;
  /* The request body: JSON text, exactly body_size bytes. */
  const char* body;
  size_t body_size;
  /* Nonzero when the client asked for a stream (`"stream": true` or
   * `Accept: text/event-stream`). Chunks written with mh_response.write reach the client as
   * they are written only when this is set. */
  int32_t stream;
  /* Reserved, zero. */
  int32_t reserved0;
  /* The deadline as milliseconds since the Unix epoch (wall clock), 0 for none. Past it the
   * host answers the client with MH_DEADLINE_EXCEEDED and the response reports it; the
   * plugin should stop work. */
  int64_t deadline_unix_ms;
} mh_request;

typedef struct mh_response mh_response;

/* The way back for one request: zero or more chunks, then exactly one finish.
 * [owner: host; valid: until the plugin's finish call returns — the plugin must not touch the
 *  response or its request after that]
 * The host keeps the response valid however long the plugin takes, also after the client has
 * gone away, so a plugin may finish a request long after predict returned (as Triton's
 * response factory allows). */
struct mh_response {
  uint32_t struct_size;

  /* Sends one chunk of a streamed reply. `data` is exactly `size` bytes of JSON text
   * [owner: caller; valid: during the call — the host copies it]. For predict the host frames
   * each chunk as one Server-Sent Event (`data: <chunk>\n\n`); OpenAI routes end with
   * `data: [DONE]`. On a request whose `stream` is 0 the chunk is discarded and
   * MH_FAILED_PRECONDITION returned.
   * Returns MH_OK, or MH_CANCELLED / MH_DEADLINE_EXCEEDED when the client is gone or the
   * deadline passed: the plugin should stop generating and finish.
   * Back-pressure: the host queues at most a bounded number of bytes that the client has not
   * yet read (hostd's --max-stream-buffer-bytes, 1 MiB by default; a single chunk is always
   * accepted while nothing is queued). A chunk that would pass the bound is NOT queued and
   * write returns MH_RESOURCE_EXHAUSTED: the client is not reading, the chunk was not sent —
   * pause and write it again later (check_cancelled meanwhile), or finish. write never blocks.
   * A client that takes no bytes for hostd's --write-timeout-ms (30 s by default) is
   * disconnected: from then on write and check_cancelled report MH_CANCELLED.
   * Calls for one response must not overlap (write from one thread at a time).
   * [thread: any] */
  mh_status (*write)(mh_response* response, const char* data, size_t size);

  /* Completes the request. Must be called exactly once per request, after the last write —
   * also when the request was cancelled (pass MH_CANCELLED; the host then sends nothing more).
   * status MH_OK: `body` is the JSON reply (for a stream: an optional last chunk; size 0 for
   * none). Any other status: `body` is a UTF-8 message for the client, without JSON framing
   * (the host formats the error). `body` [owner: caller; valid: during the call].
   * A second finish is a plugin bug: the host ignores it and logs an error.
   * [thread: any] */
  void (*finish)(mh_response* response, mh_status status, const char* body, size_t size);

  /* Whether the plugin should stop: MH_OK while the client waits, MH_CANCELLED once it
   * disconnected (or the model is unloading), MH_DEADLINE_EXCEEDED once the deadline passed.
   * Cheap enough to call once per generated token.
   * [thread: any] */
  mh_status (*check_cancelled)(const mh_response* response);

  /* Private to the host. */
  void* host_data;
};

/* ---------------------------------------------------------------------------------------- */
/* What the plugin gives the host                                                            */
/* ---------------------------------------------------------------------------------------- */

/* Completion of init. `status` MH_OK with the new `instance`, or an error with
 * `message` (UTF-8, NUL-terminated) [owner: caller; valid: during the call] and `instance`
 * NULL. Must be called exactly once per init call. `done_ctx` is the value given to init.
 * [thread: any, also from inside init] */
typedef void (*mh_init_done_fn)(void* done_ctx, mh_status status, const char* message,
                                mh_instance* instance);

/* Completion of cleanup. Must be called exactly once per cleanup call, after which the plugin
 * holds no resource of the instance (threads joined, memory freed, GPU caches emptied) and the
 * host may unload the library. `done_ctx` is the value given to cleanup.
 * [thread: any, also from inside cleanup. The host never unloads the library from inside done:
 *  it unloads it from a thread of its own, no sooner than one second after the done of the
 *  library's last live instance, so a plugin thread may call done as its last act and return.
 *  A plugin thread must not run plugin code for longer than that after done.] */
typedef void (*mh_cleanup_done_fn)(void* done_ctx);

/* The plugin's function table. Returned by mh_plugin_get.
 * [owner: plugin; valid: until the library is unloaded — a static const table is typical] */
typedef struct mh_plugin {
  uint32_t struct_size;
  /* The ABI version the plugin was built against (MH_ABI_VERSION of the plugin's build). The
   * host refuses a plugin whose major differs from its own. */
  uint32_t abi_version;
  /* Human-readable identity, NUL-terminated UTF-8 [owner: plugin; valid: as the table].
   * `version` is the plugin's own version, e.g. "1.2.0", shown in status and logs. */
  const char* name;
  const char* version;
  const char* description;

  /* Starts initialising one model instance and returns at once. Heavy work (reading weights,
   * allocating GPU memory) belongs on a plugin thread. Completes through `done` exactly once.
   * `host` [owner: host; valid: until cleanup's done for this instance]; `meta` [owner: host;
   * valid: during this call only]. Several instances of one plugin (e.g. two generations of
   * a model) may be alive at once.
   * [thread: a host worker thread, never an HTTP I/O thread] */
  void (*init)(const mh_host* host, const mh_model_meta* meta, mh_init_done_fn done,
               void* done_ctx);

  /* Starts one request and returns at once; the answer comes through `response` (writes,
   * then exactly one finish), from any thread, possibly after predict returned. The host
   * calls predict concurrently for many requests of one instance, up to the manifest's
   * max_concurrency. Never called before init's done reported MH_OK, nor after cleanup.
   * `request` and `response` [owner: host; valid: until finish returns].
   * [thread: a host worker thread; must not block for long — queue the work] */
  void (*predict)(mh_instance* instance, const mh_request* request, mh_response* response);

  /* Releases the instance and returns at once. The host calls it once per successful init,
   * after in-flight requests have finished or after the drain time ran out; in the latter case
   * the plugin must finish every still-open response (with MH_CANCELLED) before calling done.
   * [thread: a host worker thread, never an HTTP I/O thread] */
  void (*cleanup)(mh_instance* instance, mh_cleanup_done_fn done, void* done_ctx);

  /* Optional (may be NULL): looks up a plugin feature by string id with revision, e.g.
   * "mh.plugin.tokenize/1". `extension_id` is NUL-terminated [owner: host; valid: during the
   * call]. Returns NULL when absent (also for an id it does not know). The table returned is
   * [owner: plugin; valid: until the library is unloaded]. Defined: MH_PLUGIN_STATS_EXTENSION.
   * [thread: any, also before any init and after the last cleanup's done] */
  const void* (*get_extension)(const char* extension_id);
} mh_plugin;

/* The one exported entry point. The host calls it once after loading the library, with the
 * ABI version it implements. The plugin returns its table (whose abi_version lets the host
 * decide), or NULL when it cannot work with that host (e.g. the host's minor is older than a
 * feature the plugin needs) — the host then refuses the plugin with a message. The C++
 * helper (modelhost/plugin.hpp) returns NULL when the host's major differs from the plugin's
 * or the host's minor is older than the one the plugin was built against.
 * The table [owner: plugin; valid: until the library is unloaded].
 * [thread: a host worker thread] */
typedef const mh_plugin* (*mh_plugin_get_fn)(uint32_t host_abi_version);

/* ---------------------------------------------------------------------------------------- */
/* Plugin extensions (looked up through mh_plugin.get_extension)                             */
/* ---------------------------------------------------------------------------------------- */

/* "mh.plugin.stats/1": the plugin's own counters for one instance (tokens generated, requests
 * finished, ...), served by the host as `GET /v1/models/{name}/stats`. Optional: a plugin
 * without it answers that route with 501. Defined alongside ABI 1.0; any 1.x host may ask.
 * The table is one per library (get_extension takes no instance); `read` names the instance. */
#define MH_PLUGIN_STATS_EXTENSION "mh.plugin.stats/1"

/* Receives the stats: `json` is one JSON object, exactly `size` bytes, not necessarily
 * NUL-terminated [owner: plugin; valid: during this call only — the host copies it]. Its keys
 * are the plugin's own; the host passes the object on without interpreting it.
 * `write_ctx` is the value the host gave to read [owner: host].
 * [thread: the thread that called mh_plugin_stats.read, before read returns] */
typedef void (*mh_stats_write_fn)(void* write_ctx, const char* json, size_t size);

/* [owner: plugin; valid: until the library is unloaded — a static const table is typical]
 * The plugin sets struct_size to sizeof(mh_plugin_stats); a host checks it (MH_HAS_FIELD)
 * before calling a member. */
typedef struct mh_plugin_stats {
  uint32_t struct_size;
  /* Never NULL. Reports `instance`'s counters by calling `write` exactly once and then
   * returning MH_OK, or returns an error status without calling `write`. Synchronous and
   * quick: it must not wait for model work (read counters, do not compute them).
   * `instance` [owner: plugin; valid: the host calls read only between init's done with MH_OK
   * and the cleanup call, never after cleanup began]; `write` and `write_ctx` [owner: host;
   * valid: during this read call]. May run concurrently with predict calls and other read
   * calls of the same instance.
   * [thread: any host thread, possibly an HTTP I/O thread (hence quick). The host holds no lock
   *  that the plugin's calls into it (log, write, finish) need, so read may take the plugin's
   *  own locks and call mh_host.log.] */
  mh_status (*read)(mh_instance* instance, mh_stats_write_fn write, void* write_ctx);
} mh_plugin_stats;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MODELHOST_PLUGIN_H */
