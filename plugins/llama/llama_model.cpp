#include "llama_model.hpp"

#include <c10/core/InferenceMode.h>
#include <torch/version.h>

#include <modelhost/plugin.hpp>

#include <cmath>
#include <limits>

// scaled_dot_product_attention (fused kernels on CUDA) exists from PyTorch 2.1 with the
// signature used here; Debian's 1.13 does the attention arithmetic by hand.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
#define MH_LLAMA_HAVE_SDPA 1
#else
#define MH_LLAMA_HAVE_SDPA 0
#endif

namespace mh::llama {

namespace {

using at::indexing::Slice;

// [..., head_dim]: cat(-x2, x1)
at::Tensor rotate_half(const at::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return at::cat({x.narrow(-1, half, half).neg(), x.narrow(-1, 0, half)}, -1);
}

at::Tensor apply_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  return x * cos + rotate_half(x) * sin;
}

#if !MH_LLAMA_HAVE_SDPA
// softmax(q·kᵀ·scale + mask)·v with the mask as booleans (true = may attend), computed as
// transformers' eager path does: scores in the model's dtype, softmax in float32.
at::Tensor attention_by_hand(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                             const at::Tensor& allowed, double scale) {
  at::Tensor scores = at::matmul(q, k.transpose(-1, -2)) * scale;
  scores = scores.masked_fill(allowed.logical_not(), -std::numeric_limits<double>::infinity());
  at::Tensor probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
  return at::matmul(probs, v);
}
#endif

}  // namespace

at::Device resolve_device(const std::string& name) {
  if (name == "auto" || name.empty())
    return at::hasCUDA() ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU);
  if (name == "cpu") return at::Device(at::kCPU);
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    if (!at::hasCUDA())
      throw mh::Error(MH_UNAVAILABLE, "config: \"device\" is \"" + name +
                                          "\" but this libtorch has no CUDA device available");
    return name == "cuda" ? at::Device(at::kCUDA, 0) : at::Device(name);
  }
  throw mh::Error(
      MH_INVALID_ARGUMENT,
      "config: \"device\" must be \"cpu\", \"cuda\", \"cuda:N\" or \"auto\", got \"" + name + "\"");
}

at::ScalarType resolve_dtype(const std::string& name, const ModelConfig& config,
                             at::Device device) {
  auto named = [](const std::string& n) -> std::optional<at::ScalarType> {
    if (n == "float32" || n == "float") return at::kFloat;
    if (n == "bfloat16") return at::kBFloat16;
    if (n == "float16" || n == "half") return at::kHalf;
    return std::nullopt;
  };
  if (name == "auto" || name.empty()) {
    if (device.is_cpu()) return at::kFloat;
    return named(config.torch_dtype).value_or(at::kBFloat16);
  }
  if (auto type = named(name)) return *type;
  throw mh::Error(MH_INVALID_ARGUMENT,
                  "config: \"dtype\" must be \"float32\", \"bfloat16\", \"float16\" or \"auto\", "
                  "got \"" +
                      name + "\"");
}

LlamaModel::LlamaModel(ModelConfig config, LlamaWeights weights, int64_t max_len, at::Device device,
                       at::ScalarType dtype)
    : config_(std::move(config)),
      weights_(std::move(weights)),
      max_len_(max_len),
      device_(device),
      dtype_(dtype) {
  c10::InferenceMode inference;
  rope_ = make_rope_tables(config_, max_len_, device_, dtype_);
}

void LlamaModel::release() {
  weights_ = LlamaWeights{};
  rope_ = RopeTables{};
}

at::Tensor LlamaModel::rms_norm(const at::Tensor& x, const at::Tensor& weight) const {
  at::Tensor xf = x.to(at::kFloat);
  at::Tensor variance = xf.pow(2).mean(-1, /*keepdim=*/true);
  xf = xf * at::rsqrt(variance + config_.rms_norm_eps);
  return weight * xf.to(dtype_);
}

at::Tensor LlamaModel::mlp(const LayerWeights& layer, const at::Tensor& x) const {
  const int64_t inter = config_.intermediate_size;
  at::Tensor gate, up;
  if (fused_) {
    at::Tensor gate_up = at::linear(x, layer.gate_up);
    gate = gate_up.narrow(-1, 0, inter);
    up = gate_up.narrow(-1, inter, inter);
  } else {
    gate = at::linear(x, layer.gate_up.narrow(0, 0, inter));
    up = at::linear(x, layer.gate_up.narrow(0, inter, inter));
  }
  return at::linear(at::silu(gate) * up, layer.down);
}

std::array<at::Tensor, 3> LlamaModel::project_qkv(const LayerWeights& layer,
                                                  const at::Tensor& h) const {
  const int64_t q_out = config_.num_heads * config_.head_dim;
  const int64_t kv_out = config_.num_kv_heads * config_.head_dim;
  if (fused_) {
    at::Tensor qkv = at::linear(h, layer.qkv);
    return {qkv.narrow(-1, 0, q_out), qkv.narrow(-1, q_out, kv_out),
            qkv.narrow(-1, q_out + kv_out, kv_out)};
  }
  // Row slices of the fused weight are contiguous matrices: the same GEMMs as unfused weights.
  return {at::linear(h, layer.qkv.narrow(0, 0, q_out)),
          at::linear(h, layer.qkv.narrow(0, q_out, kv_out)),
          at::linear(h, layer.qkv.narrow(0, q_out + kv_out, kv_out))};
}

at::Tensor LlamaModel::logits(const at::Tensor& hidden) const {
  return at::linear(rms_norm(hidden, weights_.norm), weights_.lm_head).to(at::kFloat);
}

at::Tensor LlamaModel::extend(KvCache& cache, int64_t slot, const std::vector<int64_t>& tokens,
                              int64_t start, bool all_logits) {
  c10::InferenceMode inference;
  const int64_t t = static_cast<int64_t>(tokens.size());
  const int64_t end = start + t;
  TORCH_CHECK(t > 0 && start >= 0 && end <= cache.max_len() && end <= max_len_,
              "extend: positions out of range");
  const int64_t nh = config_.num_heads, nkv = config_.num_kv_heads, hd = config_.head_dim;
  const int64_t group = nh / nkv;
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));

  at::Tensor ids = at::tensor(tokens, at::kLong).to(device_);
  at::Tensor x = weights_.embed.index_select(0, ids);  // [T, hidden]
  at::Tensor cos = rope_.cos.narrow(0, start, t);      // [T, hd], broadcast over heads
  at::Tensor sin = rope_.sin.narrow(0, start, t);
  // Query i (at position start + i) may see key j when j <= start + i.
  at::Tensor allowed;
  if (start > 0 || !MH_LLAMA_HAVE_SDPA) {
    at::Tensor qpos = at::arange(start, end, at::TensorOptions().dtype(at::kLong).device(device_));
    at::Tensor kpos = at::arange(end, at::TensorOptions().dtype(at::kLong).device(device_));
    allowed = kpos.unsqueeze(0) <= qpos.unsqueeze(1);  // [T, end]
  }

  for (int64_t l = 0; l < config_.num_layers; ++l) {
    const LayerWeights& layer = weights_.layers[static_cast<size_t>(l)];
    at::Tensor h = rms_norm(x, layer.input_norm);
    auto [q, k, v] = project_qkv(layer, h);
    q = q.view({t, nh, hd}).transpose(0, 1);  // [nh, T, hd]
    k = k.view({t, nkv, hd}).transpose(0, 1);
    v = v.view({t, nkv, hd}).transpose(0, 1);
    q = apply_rope(q, cos, sin);  // [nh, T, hd]
    k = apply_rope(k, cos, sin);  // [nkv, T, hd]
    cache.keys(l).select(0, slot).narrow(1, start, t).copy_(k);
    cache.values(l).select(0, slot).narrow(1, start, t).copy_(v);
    at::Tensor keys = start == 0 ? k : cache.keys(l).select(0, slot).narrow(1, 0, end);
    at::Tensor values = start == 0 ? v : cache.values(l).select(0, slot).narrow(1, 0, end);

    at::Tensor out;  // [nh, T, hd]
#if MH_LLAMA_HAVE_SDPA
    // Each query head reads key/value head (head / group), as transformers' repeat_kv.
    at::Tensor kx = keys.unsqueeze(1).expand({nkv, group, end, hd}).reshape({nh, end, hd});
    at::Tensor vx = values.unsqueeze(1).expand({nkv, group, end, hd}).reshape({nh, end, hd});
    if (start == 0) {
      out = at::scaled_dot_product_attention(q.unsqueeze(0), kx.unsqueeze(0), vx.unsqueeze(0), {},
                                             0.0, /*is_causal=*/true)
                .squeeze(0);
    } else {
      out = at::scaled_dot_product_attention(q.unsqueeze(0), kx.unsqueeze(0), vx.unsqueeze(0),
                                             allowed, 0.0, false)
                .squeeze(0);
    }
#else
    // Grouped: [nkv, group, T, hd] queries against [nkv, 1, end, hd] keys.
    at::Tensor qg = q.reshape({nkv, group, t, hd});
    out = attention_by_hand(qg, keys.unsqueeze(1), values.unsqueeze(1), allowed, scale)
              .reshape({nh, t, hd});
#endif
    (void)scale;
    (void)group;
    at::Tensor attn = out.transpose(0, 1).reshape({t, nh * hd});
    x = x + at::linear(attn, layer.o);
    x = x + mlp(layer, rms_norm(x, layer.post_norm));
  }
  if (!all_logits) return logits(x.narrow(0, t - 1, 1)).squeeze(0);
  return logits(x);
}

at::Tensor LlamaModel::decode(KvCache& cache, const at::Tensor& tokens, const at::Tensor& positions,
                              int64_t attend) {
  c10::InferenceMode inference;
  const int64_t n = tokens.size(0);
  const int64_t nh = config_.num_heads, nkv = config_.num_kv_heads, hd = config_.head_dim;
  const int64_t group = nh / nkv;
  const int64_t max_len = cache.max_len();
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  const auto long_options = at::TensorOptions().dtype(at::kLong).device(device_);

  at::Tensor x = weights_.embed.index_select(0, tokens);               // [n, hidden]
  at::Tensor cos = rope_.cos.index_select(0, positions).unsqueeze(1);  // [n, 1, hd]
  at::Tensor sin = rope_.sin.index_select(0, positions).unsqueeze(1);
  // Row (slot b, kv head h) of the flattened cache [slots * nkv * max_len, hd] that receives
  // this step's key: (b * nkv + h) * max_len + position[b].
  at::Tensor rows = ((at::arange(n, long_options).unsqueeze(1) * nkv +
                      at::arange(nkv, long_options).unsqueeze(0)) *
                         max_len +
                     positions.unsqueeze(1))
                        .reshape({n * nkv});
  at::Tensor allowed =
      (at::arange(attend, long_options).unsqueeze(0) <= positions.unsqueeze(1))  // [n, attend]
          .view({n, 1, 1, attend});
#if MH_LLAMA_HAVE_SDPA
  // The same additive mask serves every layer: 0 where a key is visible, -inf elsewhere.
  const at::Tensor bias =
      at::zeros({n, 1, 1, attend}, x.options())
          .masked_fill(allowed.logical_not(), -std::numeric_limits<double>::infinity());
#endif

  for (int64_t l = 0; l < config_.num_layers; ++l) {
    const LayerWeights& layer = weights_.layers[static_cast<size_t>(l)];
    at::Tensor h = rms_norm(x, layer.input_norm);
    auto [q, k, v] = project_qkv(layer, h);
    v = v.view({n, nkv, hd});
    if (fused_) {
      // q and k sit side by side in the fused output: one rotation for both.
      at::Tensor qk = q.as_strided({n, nh + nkv, hd}, {q.stride(0), hd, 1});
      qk = apply_rope(qk, cos, sin);
      q = qk.narrow(1, 0, nh);
      k = qk.narrow(1, nh, nkv);
    } else {
      q = apply_rope(q.view({n, nh, hd}), cos, sin);
      k = apply_rope(k.view({n, nkv, hd}), cos, sin);
    }
    at::Tensor& key_cache = cache.keys(l);
    at::Tensor& value_cache = cache.values(l);
    key_cache.view({-1, hd}).index_copy_(0, rows, k.reshape({n * nkv, hd}));
    value_cache.view({-1, hd}).index_copy_(0, rows, v.reshape({n * nkv, hd}));
    at::Tensor keys = key_cache.narrow(0, 0, n).narrow(2, 0, attend);  // [n, nkv, attend, hd]
    at::Tensor values = value_cache.narrow(0, 0, n).narrow(2, 0, attend);
    // The group's query heads act as query rows of their key/value head.
    at::Tensor qg = q.view({n, nkv, group, hd});
#if MH_LLAMA_HAVE_SDPA
    at::Tensor out = at::scaled_dot_product_attention(qg, keys, values, bias, 0.0, false);
#else
    at::Tensor out = attention_by_hand(qg, keys, values, allowed, scale);
#endif
    (void)scale;
    x = x + at::linear(out.reshape({n, nh * hd}), layer.o);
    x = x + mlp(layer, rms_norm(x, layer.post_norm));
  }
  return logits(x);
}

at::Tensor LlamaModel::forward_all(const std::vector<int64_t>& tokens) {
  KvCache scratch(config_, 1, static_cast<int64_t>(tokens.size()), device_, dtype_);
  return extend(scratch, 0, tokens, 0, /*all_logits=*/true);
}

}  // namespace mh::llama
