/* A plugin that claims ABI 2.0: the host must refuse it, naming both versions. */
#include <modelhost/plugin.h>

static const mh_plugin future_plugin = {
    sizeof(mh_plugin),
    MH_ABI_MAKE_VERSION(2, 0),
    "future",
    "9.0.0",
    "Built for a host that does not exist yet",
    NULL,
    NULL,
    NULL,
    NULL,
};

MH_EXPORT const mh_plugin* mh_plugin_get(uint32_t host_abi_version) {
  (void)host_abi_version;
  return &future_plugin;
}
