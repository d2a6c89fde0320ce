#include "isolation/runner_crash.hpp"

namespace mh::isolation {

std::string_view runner_phase_name(RunnerPhase phase) noexcept {
  switch (phase) {
    case RunnerPhase::loading:
      return "loading";
    case RunnerPhase::loaded:
      return "loaded";
    case RunnerPhase::initializing:
      return "initializing";
    case RunnerPhase::serving:
      return "serving";
    case RunnerPhase::cleaning_up:
      return "cleaning_up";
    case RunnerPhase::cleaned_up:
      return "cleaned_up";
  }
  return "unknown";
}

}  // namespace mh::isolation
