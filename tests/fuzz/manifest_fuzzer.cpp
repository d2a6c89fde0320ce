// Fuzzes model.json parsing (host/model manifest.hpp): any text either parses into a Manifest
// or throws ManifestError; nothing else may escape, and no sanitizer may fire.
#include "model/manifest.hpp"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const mh::host::ParsedManifest parsed = mh::host::parse_manifest(text, "model.json");
    // What the rest of hostd reads from it must be usable as it is.
    volatile std::size_t used =
        parsed.manifest.config_json.size() + parsed.manifest.files.size() + parsed.warnings.size();
    (void)used;
  } catch (const mh::host::ManifestError&) {
  }
  return 0;
}
