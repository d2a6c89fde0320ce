#include "model_config.hpp"

#include "json_access.hpp"
#include "sampling_limits.hpp"

#include <cmath>
#include <fstream>
#include <sstream>

namespace mh::llama {

namespace bj = boost::json;

std::string read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw mh::Error(MH_NOT_FOUND, path.string() + ": cannot open the file");
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) throw mh::Error(MH_INTERNAL, path.string() + ": read error");
  return std::move(out).str();
}

namespace {

// "eos_token_id" may be one integer or a list of them.
std::vector<int64_t> token_id_list(const bj::object& object, std::string_view key,
                                   const std::string& where) {
  const bj::value* value = json::find(object, key);
  if (value == nullptr) return {};
  if (!value->is_array()) return {json::required(json::get_int(object, key, where), key, where)};
  std::vector<int64_t> ids;
  for (const bj::value& item : value->get_array()) {
    if (!item.is_int64() && !item.is_uint64())
      json::fail(where, key, "an integer or a list of integers", *value);
    // A uint64 above INT64_MAX has no int64 form (to_number would throw Boost's own error).
    if (item.is_uint64() && item.get_uint64() > static_cast<uint64_t>(INT64_MAX))
      json::fail(where, key, "token ids that fit in 64-bit signed integers", *value);
    ids.push_back(item.to_number<int64_t>());
  }
  return ids;
}

// Reads the RoPE settings from either form:
//  classic:  "rope_theta": 500000, "rope_scaling": {"rope_type": "llama3", "factor": 8, ...}
//  newer:    "rope_parameters": {"rope_type": "llama3", "rope_theta": 500000, "factor": 8, ...}
void parse_rope(const bj::object& config, const std::string& where, ModelConfig& out) {
  const bj::object* scaling = nullptr;
  std::string scaling_key = "rope_scaling";
  if (const bj::value* params = json::find(config, "rope_parameters")) {
    if (!params->is_object()) json::fail(where, "rope_parameters", "an object", *params);
    scaling = &params->get_object();
    scaling_key = "rope_parameters";
    if (auto theta = json::get_number(*scaling, "rope_theta", where + ": rope_parameters"))
      out.rope_theta = *theta;
  }
  if (auto theta = json::get_number(config, "rope_theta", where)) {
    if (scaling == nullptr) out.rope_theta = *theta;
  }
  if (scaling == nullptr) {
    if (const bj::value* value = json::find(config, "rope_scaling")) {
      if (!value->is_object()) json::fail(where, "rope_scaling", "an object or null", *value);
      scaling = &value->get_object();
    }
  }
  if (!(out.rope_theta > 0))
    throw mh::Error(MH_INVALID_ARGUMENT, where + ": \"rope_theta\" must be positive");
  if (scaling == nullptr) return;

  const std::string scope = where + ": " + scaling_key;
  auto type = json::get_string(*scaling, "rope_type", scope);
  if (!type) type = json::get_string(*scaling, "type", scope);
  RopeScaling& rope = out.rope_scaling;
  rope.type = type.value_or("default");
  if (rope.type == "default") return;
  if (rope.type != "llama3" && rope.type != "linear")
    throw mh::Error(MH_INVALID_ARGUMENT,
                    scope + ": rope_type \"" + rope.type +
                        "\" is not supported (supported: default, linear, llama3)");
  rope.factor = json::required(json::get_number(*scaling, "factor", scope), "factor", scope);
  if (!(rope.factor > 0))
    throw mh::Error(MH_INVALID_ARGUMENT, scope + ": \"factor\" must be positive");
  if (rope.type == "linear") return;
  rope.low_freq_factor = json::required(json::get_number(*scaling, "low_freq_factor", scope),
                                        "low_freq_factor", scope);
  rope.high_freq_factor = json::required(json::get_number(*scaling, "high_freq_factor", scope),
                                         "high_freq_factor", scope);
  rope.original_max_position_embeddings =
      json::required(json::get_int(*scaling, "original_max_position_embeddings", scope),
                     "original_max_position_embeddings", scope);
  if (!(rope.high_freq_factor > rope.low_freq_factor))
    throw mh::Error(MH_INVALID_ARGUMENT,
                    scope + ": \"high_freq_factor\" must be greater than \"low_freq_factor\"");
  if (rope.original_max_position_embeddings <= 0)
    throw mh::Error(MH_INVALID_ARGUMENT,
                    scope + ": \"original_max_position_embeddings\" must be positive");
}

int64_t positive(const bj::object& config, std::string_view key, const std::string& where) {
  int64_t value = json::required(json::get_int(config, key, where), key, where);
  if (value <= 0)
    throw mh::Error(MH_INVALID_ARGUMENT, where + ": \"" + std::string(key) +
                                             "\" must be positive, got " + std::to_string(value));
  return value;
}

}  // namespace

ModelConfig parse_model_config(std::string_view json_text, const std::string& where) {
  bj::object config = json::parse_object(json_text, where);

  // Accept what says it is a Llama: the architecture list, or model_type when it is absent.
  std::string architecture;
  if (const bj::value* archs = json::find(config, "architectures")) {
    if (!archs->is_array() || archs->get_array().empty() || !archs->get_array()[0].is_string())
      json::fail(where, "architectures", "a list of names", *archs);
    architecture = std::string(archs->get_array()[0].get_string());
    if (architecture != "LlamaForCausalLM")
      throw mh::Error(MH_INVALID_ARGUMENT, where + ": unsupported architecture \"" + architecture +
                                               "\" (this plugin runs LlamaForCausalLM)");
  } else {
    auto model_type = json::get_string(config, "model_type", where);
    if (!model_type)
      throw mh::Error(MH_INVALID_ARGUMENT,
                      where + ": neither \"architectures\" nor \"model_type\" is given");
    if (*model_type != "llama")
      throw mh::Error(MH_INVALID_ARGUMENT, where + ": unsupported model_type \"" + *model_type +
                                               "\" (this plugin runs llama)");
  }

  ModelConfig out;
  out.hidden_size = positive(config, "hidden_size", where);
  out.intermediate_size = positive(config, "intermediate_size", where);
  out.num_layers = positive(config, "num_hidden_layers", where);
  out.num_heads = positive(config, "num_attention_heads", where);
  out.num_kv_heads = json::get_int(config, "num_key_value_heads", where).value_or(out.num_heads);
  out.vocab_size = positive(config, "vocab_size", where);
  out.max_position_embeddings =
      json::get_int(config, "max_position_embeddings", where).value_or(2048);
  out.rms_norm_eps = json::get_number(config, "rms_norm_eps", where).value_or(1e-6);
  out.tie_word_embeddings = json::get_bool(config, "tie_word_embeddings", where).value_or(false);
  if (auto head_dim = json::get_int(config, "head_dim", where)) {
    out.head_dim = *head_dim;
  } else {
    if (out.hidden_size % out.num_heads != 0)
      throw mh::Error(MH_INVALID_ARGUMENT,
                      where +
                          ": \"hidden_size\" is not a multiple of \"num_attention_heads\" "
                          "and no \"head_dim\" is given");
    out.head_dim = out.hidden_size / out.num_heads;
  }
  if (out.num_kv_heads <= 0 || out.num_heads % out.num_kv_heads != 0)
    throw mh::Error(MH_INVALID_ARGUMENT, where + ": \"num_attention_heads\" (" +
                                             std::to_string(out.num_heads) +
                                             ") must be a multiple of \"num_key_value_heads\" (" +
                                             std::to_string(out.num_kv_heads) + ")");
  if (out.head_dim <= 0 || out.head_dim % 2 != 0)
    throw mh::Error(MH_INVALID_ARGUMENT, where + ": \"head_dim\" must be a positive even number");
  if (auto act = json::get_string(config, "hidden_act", where); act && *act != "silu")
    throw mh::Error(MH_INVALID_ARGUMENT,
                    where + ": \"hidden_act\" \"" + *act + "\" is not supported (only silu)");
  if (json::get_bool(config, "attention_bias", where).value_or(false))
    throw mh::Error(MH_INVALID_ARGUMENT, where + ": \"attention_bias\": true is not supported");
  if (json::get_bool(config, "mlp_bias", where).value_or(false))
    throw mh::Error(MH_INVALID_ARGUMENT, where + ": \"mlp_bias\": true is not supported");
  if (auto tp = json::get_int(config, "pretraining_tp", where); tp && *tp != 1)
    throw mh::Error(MH_INVALID_ARGUMENT,
                    where + ": \"pretraining_tp\" other than 1 is not supported");

  parse_rope(config, where, out);

  auto dtype = json::get_string(config, "torch_dtype", where);
  if (!dtype) dtype = json::get_string(config, "dtype", where);
  out.torch_dtype = dtype.value_or("");
  out.bos_token_id = json::get_int(config, "bos_token_id", where);
  out.eos_token_ids = token_id_list(config, "eos_token_id", where);
  return out;
}

GenerationDefaults parse_generation_config(std::string_view json_text, const std::string& where) {
  bj::object config = json::parse_object(json_text, where);
  GenerationDefaults out;
  out.bos_token_id = json::get_int(config, "bos_token_id", where);
  out.eos_token_ids = token_id_list(config, "eos_token_id", where);
  out.do_sample = json::get_bool(config, "do_sample", where).value_or(false);
  out.temperature = json::get_number(config, "temperature", where);
  out.top_k = json::get_int(config, "top_k", where);
  out.top_p = json::get_number(config, "top_p", where);
  out.min_p = json::get_number(config, "min_p", where);
  out.repetition_penalty = json::get_number(config, "repetition_penalty", where);
  out.max_new_tokens = json::get_int(config, "max_new_tokens", where);
  // A model file is input too: every value must keep sampling finite (sampling_limits.hpp).
  // JSON has no NaN or infinity, but 1e999 parses as infinity.
  auto check = [&](std::string_view key, const std::optional<double>& value, bool ok,
                   const std::string& range) {
    if (value && !(std::isfinite(*value) && ok))
      throw mh::Error(MH_INVALID_ARGUMENT, where + ": \"" + std::string(key) + "\" must be " +
                                               range + ", got " + std::to_string(*value));
  };
  const auto& t = out.temperature;
  check("temperature", t, t && *t >= 0.0, "a number >= 0");
  const auto& top_p = out.top_p;
  check("top_p", top_p, top_p && *top_p > 0.0 && *top_p <= 1.0, "in (0, 1]");
  const auto& min_p = out.min_p;
  check("min_p", min_p, min_p && *min_p >= 0.0 && *min_p <= 1.0, "in [0, 1]");
  const auto& r = out.repetition_penalty;
  check("repetition_penalty", r,
        r && *r >= limits::kMinRepetitionPenalty && *r <= limits::kMaxRepetitionPenalty,
        "in [0.01, 100]");
  if (out.top_k && *out.top_k < -1)
    throw mh::Error(MH_INVALID_ARGUMENT,
                    where + ": \"top_k\" must be >= -1, got " + std::to_string(*out.top_k));
  if (out.max_new_tokens && *out.max_new_tokens <= 0)
    throw mh::Error(MH_INVALID_ARGUMENT, where + ": \"max_new_tokens\" must be positive, got " +
                                             std::to_string(*out.max_new_tokens));
  return out;
}

ModelConfig load_model_config(const std::filesystem::path& dir) {
  const std::filesystem::path path = dir / "config.json";
  if (!std::filesystem::exists(path))
    throw mh::Error(MH_NOT_FOUND, "config.json is missing in " + dir.string());
  return parse_model_config(read_text_file(path), path.string());
}

GenerationDefaults load_generation_config(const std::filesystem::path& dir) {
  const std::filesystem::path path = dir / "generation_config.json";
  if (!std::filesystem::exists(path)) return {};
  return parse_generation_config(read_text_file(path), path.string());
}

}  // namespace mh::llama
