#pragma once
// dlopen accepts a shared object whose tail is missing as long as its headers are intact (a
// half-copied plugin then crashes later, mid-request). This checks, before loading, that the
// file holds every byte its ELF headers promise.
#include <filesystem>
#include <optional>
#include <string>

namespace mh::host {

// Returns why `path` is not a complete 64-bit ELF shared object, or nullopt when it is.
std::optional<std::string> find_elf_incompleteness(const std::filesystem::path& path);

}  // namespace mh::host
