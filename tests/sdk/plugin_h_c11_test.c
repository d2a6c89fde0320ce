/* Compiles <modelhost/plugin.h> as strict C11 (-std=c11 -Wall -Wextra -pedantic -Werror) and
 * pins the version 1.0 layout from C as well. */
#include <modelhost/plugin.h>
#include <modelhost/version.h>

#include <stddef.h>
#include <stdio.h>

_Static_assert(offsetof(mh_plugin, struct_size) == 0, "struct_size first");
_Static_assert(offsetof(mh_request, struct_size) == 0, "struct_size first");
_Static_assert(offsetof(mh_response, struct_size) == 0, "struct_size first");
_Static_assert(offsetof(mh_host, struct_size) == 0, "struct_size first");
_Static_assert(offsetof(mh_model_meta, struct_size) == 0, "struct_size first");
_Static_assert(offsetof(mh_plugin_stats, struct_size) == 0, "struct_size first");
_Static_assert(offsetof(mh_plugin_stats, read) == 8, "mh.plugin.stats/1 layout");
_Static_assert(sizeof(mh_plugin_stats) == 16, "mh.plugin.stats/1 layout");
_Static_assert(MH_ABI_MAJOR_OF(MH_ABI_VERSION) == 1, "this is ABI 1");

int main(void) {
  mh_request request = {sizeof(mh_request), "id", "predict", "{}", 2, 0, 0, 0};
  if (!MH_HAS_FIELD(&request, mh_request, deadline_unix_ms)) {
    puts("MH_HAS_FIELD failed for a full-size struct");
    return 1;
  }
  request.struct_size = (uint32_t)offsetof(mh_request, deadline_unix_ms);
  if (MH_HAS_FIELD(&request, mh_request, deadline_unix_ms)) {
    puts("MH_HAS_FIELD accepted a field beyond struct_size");
    return 1;
  }
  if (MODELHOST_VERSION[0] == '\0' || MODELHOST_VERSION_MAJOR < 1) {
    puts("modelhost/version.h has no version");
    return 1;
  }
  puts("plugin.h and version.h compile as C11 and MH_HAS_FIELD works");
  return 0;
}
