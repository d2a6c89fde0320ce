/* A plugin that refuses every host (mh_plugin_get returns NULL), as the C++ helper does for a
 * host of another major or an older minor: the host must refuse it, naming its own version. */
#include <modelhost/plugin.h>

#include <stddef.h>

MH_EXPORT const mh_plugin* mh_plugin_get(uint32_t host_abi_version) {
  (void)host_abi_version;
  return NULL;
}
