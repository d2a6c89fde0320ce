#pragma once
// What hostd learns when a runner ends unexpectedly: which model, in which phase, how it
// ended, and the sentence every answer it forces carries.
#include "isolation/runner_exit.hpp"

#include <string>
#include <string_view>

namespace mh::isolation {

// Where a runner is in its life (what the crash interrupted).
//
//   loading ──► loaded ──► initializing ──► serving ──► cleaning_up ──► cleaned_up
//                                 │ (init failed)
//                                 └──► loaded
enum class RunnerPhase { loading, loaded, initializing, serving, cleaning_up, cleaned_up };

std::string_view runner_phase_name(RunnerPhase phase) noexcept;

struct RunnerCrash {
  std::string model;
  RunnerPhase phase = RunnerPhase::serving;
  RunnerExit exit;
  // hostd killed it (ProcessBackend::kill, or the runner broke the protocol).
  bool stopped_by_host = false;
  // E.g. `model "x" crashed: its runner was killed by signal 11 (SIGSEGV)`; what in-flight
  // requests, a pending init and later calls are answered with.
  std::string reason;
};

}  // namespace mh::isolation
