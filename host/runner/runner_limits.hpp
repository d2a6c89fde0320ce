#pragma once
// The limits hostd asked for in the load frame, applied by the runner to itself before it
// loads the plugin (and before it starts a thread, so every thread inherits the affinity).
// Hard limits too: the plugin cannot raise them again.
#include "isolation/messages.hpp"

#include <optional>
#include <string>

namespace mh::runner {

// Returns what could not be applied, or nullopt when all was.
std::optional<std::string> apply_limits(const isolation::LoadMessage& load);

}  // namespace mh::runner
