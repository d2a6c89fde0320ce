#include "weights.hpp"

#include "json_access.hpp"
#include "safetensors.hpp"

#include <map>
#include <memory>
#include <sstream>

namespace mh::llama {

namespace bj = boost::json;
namespace fs = std::filesystem;

namespace {

std::string shape_text(at::IntArrayRef shape) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << "]";
  return out.str();
}

// Where each tensor lives: one file, or the shards of an index.
class TensorSource {
 public:
  explicit TensorSource(const fs::path& dir) {
    const fs::path index = dir / "model.safetensors.index.json";
    const fs::path single = dir / "model.safetensors";
    if (fs::exists(index)) {
      bj::object object = json::parse_object(read_text_file(index), index.string());
      const bj::value* map = json::find(object, "weight_map");
      if (map == nullptr || !map->is_object())
        throw mh::Error(MH_INVALID_ARGUMENT, index.string() + ": \"weight_map\" must be an object");
      std::map<std::string, std::shared_ptr<SafetensorsFile>> shards;
      for (const auto& item : map->get_object()) {
        if (!item.value().is_string())
          throw mh::Error(MH_INVALID_ARGUMENT,
                          index.string() + ": weight_map values must be file names");
        const std::string shard(item.value().get_string());
        if (shard.find('/') != std::string::npos || shard == "..")
          throw mh::Error(MH_INVALID_ARGUMENT,
                          index.string() + ": shard \"" + shard + "\" is not a plain file name");
        auto& file = shards[shard];
        if (!file) {
          if (!fs::exists(dir / shard))
            throw mh::Error(MH_NOT_FOUND, index.string() + " names shard " + shard +
                                              ", which is missing in " + dir.string());
          file = SafetensorsFile::open(dir / shard);
        }
        where_[std::string(item.key())] = file;
      }
    } else if (fs::exists(single)) {
      auto file = SafetensorsFile::open(single);
      for (const auto& [name, entry] : file->entries()) where_[name] = file;
    } else {
      throw mh::Error(MH_NOT_FOUND,
                      "no model.safetensors or model.safetensors.index.json in " + dir.string());
    }
  }

  bool contains(const std::string& name) const { return where_.count(name) != 0; }

  // The tensor `name`, checked against `shape`, on `device` in `dtype`.
  at::Tensor load(const std::string& name, at::IntArrayRef shape, at::Device device,
                  at::ScalarType dtype) const {
    auto it = where_.find(name);
    if (it == where_.end())
      throw mh::Error(MH_NOT_FOUND, "weights: tensor \"" + name + "\" is missing");
    if (!it->second->contains(name))
      throw mh::Error(MH_NOT_FOUND, it->second->path().string() + ": tensor \"" + name +
                                        "\" is missing (the index names this shard)");
    at::Tensor view = it->second->tensor(name);
    if (view.sizes() != shape)
      throw mh::Error(MH_INVALID_ARGUMENT, it->second->path().string() + ": tensor \"" + name +
                                               "\" has shape " + shape_text(view.sizes()) +
                                               ", the config implies " + shape_text(shape));
    if (!at::isFloatingType(view.scalar_type()))
      throw mh::Error(MH_INVALID_ARGUMENT, it->second->path().string() + ": tensor \"" + name +
                                               "\" is not floating point");
    // A real copy in every case, so nothing refers to the mapping once loading is done.
    return view.to(at::TensorOptions().device(device).dtype(dtype), /*non_blocking=*/false,
                   /*copy=*/true);
  }

 private:
  std::map<std::string, std::shared_ptr<SafetensorsFile>> where_;
};

}  // namespace

LlamaWeights load_weights(const fs::path& dir, const ModelConfig& c, at::Device device,
                          at::ScalarType dtype) {
  TensorSource source(dir);
  const int64_t h = c.hidden_size;
  const int64_t q_out = c.num_heads * c.head_dim;
  const int64_t kv_out = c.num_kv_heads * c.head_dim;
  auto load = [&](const std::string& name, at::IntArrayRef shape) {
    return source.load(name, shape, device, dtype);
  };

  LlamaWeights w;
  w.embed = load("model.embed_tokens.weight", {c.vocab_size, h});
  w.norm = load("model.norm.weight", {h});
  if (c.tie_word_embeddings) {
    w.lm_head = w.embed;
  } else {
    if (!source.contains("lm_head.weight"))
      throw mh::Error(MH_NOT_FOUND,
                      "weights: \"lm_head.weight\" is missing and config.json says "
                      "\"tie_word_embeddings\": false");
    w.lm_head = load("lm_head.weight", {c.vocab_size, h});
  }
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    LayerWeights layer;
    layer.input_norm = load(p + "input_layernorm.weight", {h});
    layer.post_norm = load(p + "post_attention_layernorm.weight", {h});
    layer.qkv = at::cat({load(p + "self_attn.q_proj.weight", {q_out, h}),
                         load(p + "self_attn.k_proj.weight", {kv_out, h}),
                         load(p + "self_attn.v_proj.weight", {kv_out, h})},
                        0);
    layer.o = load(p + "self_attn.o_proj.weight", {h, q_out});
    layer.gate_up = at::cat({load(p + "mlp.gate_proj.weight", {c.intermediate_size, h}),
                             load(p + "mlp.up_proj.weight", {c.intermediate_size, h})},
                            0);
    layer.down = load(p + "mlp.down_proj.weight", {h, c.intermediate_size});
    w.layers.push_back(std::move(layer));
  }
  return w;
}

}  // namespace mh::llama
