#include "runner_limits.hpp"

#include <sched.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>

namespace mh::runner {

namespace {

std::string cpu_list(const std::vector<std::uint32_t>& cpus) {
  std::string text;
  for (std::uint32_t cpu : cpus) text += (text.empty() ? "" : ",") + std::to_string(cpu);
  return text;
}

}  // namespace

std::optional<std::string> apply_limits(const isolation::LoadMessage& load) {
  if (!load.core_dumps) {
    const rlimit none{0, 0};
    if (::setrlimit(RLIMIT_CORE, &none) != 0) {
      return std::string("cannot turn core dumps off: ") + std::strerror(errno);
    }
  }
  if (load.address_space_bytes > 0) {
    const rlimit limit{load.address_space_bytes, load.address_space_bytes};
    if (::setrlimit(RLIMIT_AS, &limit) != 0) {
      return "cannot limit the address space to " + std::to_string(load.address_space_bytes) +
             " bytes: " + std::strerror(errno);
    }
  }
  if (!load.cpus.empty()) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (std::uint32_t cpu : load.cpus) {
      if (cpu >= CPU_SETSIZE) return "CPU " + std::to_string(cpu) + " does not exist";
      CPU_SET(cpu, &set);
    }
    if (::sched_setaffinity(0, sizeof set, &set) != 0) {
      return "cannot run on CPUs " + cpu_list(load.cpus) + ": " + std::strerror(errno);
    }
  }
  return std::nullopt;
}

}  // namespace mh::runner
