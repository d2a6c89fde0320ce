// Fuzzes the safetensors reader (plugins/llama/safetensors.hpp): a model file is untrusted
// input. Each input is a whole .safetensors file (8-byte length, JSON header, data), served from
// a memfd through /proc/self/fd. open() either validates it or throws mh::Error; every tensor it
// accepted must then be viewable, and the view must lie inside the file's data.
#include "safetensors.hpp"

#include <sys/mman.h>
#include <unistd.h>
#include <modelhost/plugin.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

int memfd = -1;
std::string memfd_path;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  memfd = ::memfd_create("fuzz.safetensors", MFD_CLOEXEC);
  if (memfd < 0) std::abort();
  memfd_path = "/proc/self/fd/" + std::to_string(memfd);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (::ftruncate(memfd, 0) != 0 || ::pwrite(memfd, data, size, 0) != static_cast<ssize_t>(size)) {
    std::abort();
  }
  std::shared_ptr<mh::llama::SafetensorsFile> file;
  try {
    file = mh::llama::SafetensorsFile::open(memfd_path);
  } catch (const mh::Error&) {
    return 0;
  }
  for (const auto& [name, entry] : file->entries()) {
    try {
      at::Tensor view = file->tensor(name);
      // The view must cover exactly the entry's bytes: reading all of them stays in the file.
      const auto bytes = static_cast<std::uint64_t>(view.numel()) * view.element_size();
      if (bytes != entry.end - entry.begin) {
        std::fprintf(stderr, "tensor %s: a view of %llu bytes for %llu bytes of data\n",
                     name.c_str(), static_cast<unsigned long long>(bytes),
                     static_cast<unsigned long long>(entry.end - entry.begin));
        std::abort();
      }
      const auto* first = static_cast<const volatile std::uint8_t*>(view.data_ptr());
      std::uint8_t sum = 0;
      for (std::uint64_t i = 0; i < bytes; ++i) sum = static_cast<std::uint8_t>(sum + first[i]);
      (void)sum;
    } catch (const mh::Error&) {  // e.g. a dtype the reader knows but libtorch cannot view
    }
  }
  return 0;
}
