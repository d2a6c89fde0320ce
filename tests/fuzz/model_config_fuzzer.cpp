// Fuzzes the readers of a model's config.json and generation_config.json
// (plugins/llama/model_config.hpp): untrusted files of a model directory. Each parses or throws
// mh::Error naming the key; nothing else may escape, and no sanitizer may fire.
#include "model_config.hpp"

#include <modelhost/plugin.hpp>

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const mh::llama::ModelConfig config = mh::llama::parse_model_config(text, "config.json");
    volatile std::int64_t used = config.hidden_size + config.head_dim + config.num_kv_heads;
    (void)used;
  } catch (const mh::Error&) {
  }
  try {
    (void)mh::llama::parse_generation_config(text, "generation_config.json");
  } catch (const mh::Error&) {
  }
  return 0;
}
