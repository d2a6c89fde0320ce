#pragma once
// hostd --print-config: the settings hostd would run with, as a config file (TOML) that
// hostd --config reads back, each line saying where its value came from. Secrets (the API
// key, the admin token) are shown as set or not, never printed.
#include "config/host_config.hpp"

#include <string>

namespace mh::host {

std::string format_effective_config(const HostConfig& config);

}  // namespace mh::host
