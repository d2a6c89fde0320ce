#include "plugin/elf_completeness.hpp"

#include <elf.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <vector>

namespace mh::host {

std::optional<std::string> find_elf_incompleteness(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "cannot open the file";
  in.seekg(0, std::ios::end);
  const auto file_size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);

  Elf64_Ehdr header{};
  if (!in.read(reinterpret_cast<char*>(&header), sizeof header)) {
    return "not an ELF file: only " + std::to_string(file_size) + " bytes";
  }
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0) return "not an ELF file";
  if (header.e_ident[EI_CLASS] != ELFCLASS64) return "not a 64-bit ELF file";

  // The file must reach the end of the section header table and of every segment's bytes.
  uint64_t required = header.e_shoff + uint64_t{header.e_shnum} * header.e_shentsize;
  std::vector<Elf64_Phdr> segments(header.e_phnum);
  in.seekg(static_cast<std::streamoff>(header.e_phoff));
  if (header.e_phnum > 0 &&
      !in.read(reinterpret_cast<char*>(segments.data()),
               static_cast<std::streamsize>(segments.size() * sizeof(Elf64_Phdr)))) {
    return "truncated: the program headers are cut off (" + std::to_string(file_size) + " bytes)";
  }
  for (const auto& segment : segments) {
    required = std::max(required, segment.p_offset + segment.p_filesz);
  }
  if (file_size < required) {
    return "truncated: its ELF headers need " + std::to_string(required) + " bytes but it has " +
           std::to_string(file_size) + " (half-copied?)";
  }
  return std::nullopt;
}

}  // namespace mh::host
