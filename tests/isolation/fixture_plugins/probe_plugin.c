/* probe: reports the process it runs in, so tests can check what a runner gives its plugin.
 * Every request is answered with
 *   {"value": "<$MH_PROBE_VALUE or empty>", "cuda": "<$CUDA_VISIBLE_DEVICES or empty>",
 *    "core_limit": N, "as_limit": N (-1: unlimited), "cpus": N, "fds": [0, 1, ...],
 *    "pid": N}
 * except a request whose body is "spawn": it starts a child process that sleeps for a minute
 * and answers {"child": <its pid>}. It serves mh.plugin.stats/1: {"requests": N}. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <modelhost/plugin.h>

#include <dirent.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static atomic_long requests;
static int instance_token;

static long long limit_of(int resource) {
  struct rlimit limit;
  if (getrlimit(resource, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return -1;
  return (long long)limit.rlim_cur;
}

static size_t list_fds(char* out, size_t cap) {
  size_t used = 0;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == NULL) return 0;
  struct dirent* entry;
  while ((entry = readdir(dir)) != NULL) {
    if (entry->d_name[0] == '.') continue;
    int fd = atoi(entry->d_name);
    if (fd == dirfd(dir)) continue;
    int n = snprintf(out + used, cap - used, "%s%d", used == 0 ? "" : ",", fd);
    if (n < 0 || (size_t)n >= cap - used) break;
    used += (size_t)n;
  }
  closedir(dir);
  return used;
}

static void probe_init(const mh_host* host, const mh_model_meta* meta, mh_init_done_fn done,
                       void* done_ctx) {
  (void)meta;
  host->log(host, MH_LOG_INFO, "probe ready");
  done(done_ctx, MH_OK, "", (mh_instance*)&instance_token);
}

static void spawn_child(mh_response* response) {
  pid_t child = fork();
  if (child == 0) {
    execl("/bin/sleep", "sleep", "60", (char*)NULL);
    _exit(127);
  }
  char reply[64];
  int n = snprintf(reply, sizeof reply, "{\"child\":%d}", (int)child);
  response->finish(response, child > 0 ? MH_OK : MH_INTERNAL, reply, n < 0 ? 0 : (size_t)n);
}

static void probe_predict(mh_instance* instance, const mh_request* request, mh_response* response) {
  (void)instance;
  atomic_fetch_add(&requests, 1);
  if (request->body_size == 5 && memcmp(request->body, "spawn", 5) == 0) {
    spawn_child(response);
    return;
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  int cpus = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : -1;
  char fds[256] = "";
  list_fds(fds, sizeof fds);
  const char* value = getenv("MH_PROBE_VALUE");
  const char* cuda = getenv("CUDA_VISIBLE_DEVICES");
  char reply[1024];
  int n = snprintf(reply, sizeof reply,
                   "{\"value\":\"%s\",\"cuda\":\"%s\",\"core_limit\":%lld,\"as_limit\":%lld,"
                   "\"cpus\":%d,\"fds\":[%s],\"pid\":%d}",
                   value ? value : "", cuda ? cuda : "", limit_of(RLIMIT_CORE), limit_of(RLIMIT_AS),
                   cpus, fds, (int)getpid());
  response->finish(response, MH_OK, reply, n < 0 ? 0 : (size_t)n);
}

static void probe_cleanup(mh_instance* instance, mh_cleanup_done_fn done, void* done_ctx) {
  (void)instance;
  done(done_ctx);
}

static mh_status probe_stats_read(mh_instance* instance, mh_stats_write_fn write, void* write_ctx) {
  (void)instance;
  char json[64];
  int n = snprintf(json, sizeof json, "{\"requests\":%ld}", atomic_load(&requests));
  write(write_ctx, json, n < 0 ? 0 : (size_t)n);
  return MH_OK;
}

static const mh_plugin_stats probe_stats = {sizeof(mh_plugin_stats), probe_stats_read};

static const void* probe_get_extension(const char* extension_id) {
  return strcmp(extension_id, MH_PLUGIN_STATS_EXTENSION) == 0 ? &probe_stats : NULL;
}

static const mh_plugin plugin = {sizeof(mh_plugin), MH_ABI_VERSION,        "probe",
                                 "1.0.0",           "Reports its process", probe_init,
                                 probe_predict,     probe_cleanup,         probe_get_extension};

MH_EXPORT const mh_plugin* mh_plugin_get(uint32_t host_abi_version) {
  (void)host_abi_version;
  return &plugin;
}
