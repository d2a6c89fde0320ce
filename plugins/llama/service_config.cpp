#include "service_config.hpp"

#include "json_access.hpp"

namespace mh::llama {

ServiceConfig parse_service_config(std::string_view json_text, const LogFunction& warn) {
  const std::string where = "model.json config";
  boost::json::object config = json::parse_object(json_text, where);
  ServiceConfig out;
  auto positive = [&](std::string_view key, int64_t& field) {
    if (auto v = json::get_int(config, key, where)) {
      if (*v <= 0)
        throw mh::Error(MH_INVALID_ARGUMENT, where + ": \"" + std::string(key) +
                                                 "\" must be a positive integer, got " +
                                                 std::to_string(*v));
      field = *v;
    }
  };
  out.device = json::get_string(config, "device", where).value_or(out.device);
  out.dtype = json::get_string(config, "dtype", where).value_or(out.dtype);
  positive("max_batch", out.max_batch);
  positive("max_seq_len", out.max_seq_len);
  positive("max_new_tokens", out.max_new_tokens);
  positive("max_new_tokens_limit", out.max_new_tokens_limit);
  if (out.max_new_tokens_limit > 0 && out.max_new_tokens > out.max_new_tokens_limit)
    throw mh::Error(MH_INVALID_ARGUMENT, where + ": \"max_new_tokens\" (" +
                                             std::to_string(out.max_new_tokens) +
                                             ") must not exceed \"max_new_tokens_limit\" (" +
                                             std::to_string(out.max_new_tokens_limit) + ")");
  positive("prefill_chunk", out.prefill_chunk);
  out.cuda_graphs = json::get_bool(config, "cuda_graphs", where).value_or(out.cuda_graphs);
  out.fused_projections =
      json::get_bool(config, "fused_projections", where).value_or(out.fused_projections);
  out.rope_frequency_dtype =
      json::get_string(config, "rope_frequency_dtype", where).value_or(out.rope_frequency_dtype);
  if (out.rope_frequency_dtype != "float32" && out.rope_frequency_dtype != "bfloat16" &&
      out.rope_frequency_dtype != "float16")
    throw mh::Error(MH_INVALID_ARGUMENT,
                    where + ": \"rope_frequency_dtype\" must be float32, bfloat16 or float16");
  out.model_dir = json::get_string(config, "model_dir", where).value_or("");
  for (const auto& item : config) {
    const std::string_view key = item.key();
    static constexpr std::string_view kKnown[] = {"device",
                                                  "dtype",
                                                  "max_batch",
                                                  "max_seq_len",
                                                  "max_new_tokens",
                                                  "prefill_chunk",
                                                  "cuda_graphs",
                                                  "model_dir",
                                                  "fused_projections",
                                                  "rope_frequency_dtype",
                                                  "max_new_tokens_limit"};
    bool known = key.empty() || key.front() == '_';
    for (std::string_view k : kKnown) known = known || key == k;
    if (!known && warn)
      warn(MH_LOG_WARN, where + ": unknown key \"" + std::string(key) + "\" ignored");
  }
  return out;
}

}  // namespace mh::llama
