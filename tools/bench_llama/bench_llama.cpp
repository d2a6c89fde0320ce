// Measures the Llama engine the plugin serves with (model + continuous-batching scheduler,
// CUDA graphs on CUDA) on a Hugging Face directory, and dumps greedy tokens and logits for
// comparison with transformers.
//
//   bench_llama bench  --model DIR [--device cuda --dtype bfloat16]
//       TTFT for a 512-token prompt; decode tokens/s at batch 1; aggregate tokens/s with 8
//       and 32 concurrent requests (128-token prompts, --new-tokens each, EOS ignored)
//   bench_llama greedy --model DIR --prompts prompts.json --steps N [--logits] --out out.json
//       prompts.json: [[ids...], ...]; out: per prompt the greedy tokens (each alone, and all
//       prompts decoded together), and with --logits the argmax at every position and the
//       top-20 logits of the last one (one forward, no cache)
//   bench_llama context [--device cuda]
//       creates the CUDA context and a cuBLAS handle as the plugin does, prints READY, and
//       waits for a line on stdin: the baseline for GPU-memory measurements
//
// Output is JSON, one object per line on stdout.
#include "generation/scheduler.hpp"
#include "llama_model.hpp"
#include "model_config.hpp"
#include "weights.hpp"

#include <c10/core/InferenceMode.h>
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>

namespace bj = boost::json;
using namespace mh::llama;
using Clock = std::chrono::steady_clock;

namespace {

class SilentText : public TokenTextStream {
 public:
  std::string push(int64_t) override { return {}; }
  std::string flush() override { return {}; }
};

// Records when the first token and the end arrive.
class TimingSink : public GenerationSink {
 public:
  mh_status cancellation() override { return MH_OK; }
  mh_status on_text(std::string_view) override { return MH_OK; }
  void on_finish(GenerationResult result) override {
    std::lock_guard lock(mutex_);
    end_ = Clock::now();
    result_ = std::move(result);
    done_ = true;
    changed_.notify_all();
  }
  GenerationResult wait() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return done_; });
    return result_;
  }
  Clock::time_point end() const { return end_; }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool done_ = false;
  Clock::time_point end_;
  GenerationResult result_;
};

struct Engine {
  std::unique_ptr<LlamaModel> model;
  std::unique_ptr<Scheduler> scheduler;
  double load_s = 0;

  Engine(const std::string& dir, const std::string& device_name, const std::string& dtype_name,
         int64_t max_batch, int64_t max_len, bool graphs, bool fused, const std::string& rope) {
    const auto start = Clock::now();
    ModelConfig config = load_model_config(dir);
    config.rope_frequency_dtype = rope;
    const at::Device device = resolve_device(device_name);
    const at::ScalarType dtype = resolve_dtype(dtype_name, config, device);
    model = std::make_unique<LlamaModel>(config, load_weights(dir, config, device, dtype), max_len,
                                         device, dtype);
    model->set_fused_projections(fused);
    SchedulerOptions options;
    options.max_batch = max_batch;
    options.max_len = max_len;
    options.cuda_graphs = graphs;
    options.log = [](mh_log_level level, const std::string& line) {
      if (level >= MH_LOG_WARN) std::cerr << line << "\n";
    };
    scheduler =
        std::make_unique<Scheduler>(*model, options, [] { return std::make_unique<SilentText>(); });
    load_s = std::chrono::duration<double>(Clock::now() - start).count();
  }

  // Runs the prompts concurrently; returns results and the wall time.
  std::pair<std::vector<GenerationResult>, double> run(
      const std::vector<std::vector<int64_t>>& prompts, int64_t new_tokens) {
    std::vector<std::shared_ptr<TimingSink>> sinks;
    GenerationOptions options;
    options.max_new_tokens = new_tokens;
    options.ignore_eos = true;
    const auto start = Clock::now();
    for (size_t i = 0; i < prompts.size(); ++i) {
      auto sink = std::make_shared<TimingSink>();
      scheduler->submit("bench-" + std::to_string(i), prompts[i], options, sink);
      sinks.push_back(sink);
    }
    std::vector<GenerationResult> results;
    for (auto& sink : sinks) results.push_back(sink->wait());
    return {results, std::chrono::duration<double>(Clock::now() - start).count()};
  }
};

std::vector<int64_t> random_prompt(size_t length, uint32_t seed, int64_t vocab) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int64_t> id(0, std::min<int64_t>(vocab, 128000) - 1);
  std::vector<int64_t> out(length);
  for (auto& t : out) t = id(rng);
  return out;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void print(const bj::object& object) {
  std::cout << bj::serialize(object) << std::endl;
}

int bench(Engine& engine, int64_t new_tokens) {
  const int64_t vocab = engine.model->config().vocab_size;
  // Warm-up: captures the graphs the measurements use (batch buckets, attention lengths).
  for (size_t n : {1u, 8u, 32u}) {
    std::vector<std::vector<int64_t>> prompts;
    for (size_t i = 0; i < n; ++i) prompts.push_back(random_prompt(128, 100 + i, vocab));
    engine.run(prompts, 8);
  }
  engine.run({random_prompt(512, 1, vocab)}, 4);

  // Time to first token: a 512-token prompt, one new token (prefill + first sample).
  std::vector<double> ttft;
  for (uint32_t i = 0; i < 5; ++i)
    ttft.push_back(engine.run({random_prompt(512, 10 + i, vocab)}, 1).second);
  print({{"metric", "ttft_512_ms"}, {"value", median(ttft) * 1000}});

  // Batch-1 decode: (tokens - 1) / (time - time to first token) for a 128-token prompt.
  {
    const double first = engine.run({random_prompt(128, 20, vocab)}, 1).second;
    auto [results, seconds] = engine.run({random_prompt(128, 20, vocab)}, new_tokens);
    const double decode = static_cast<double>(new_tokens - 1) / (seconds - first);
    print({{"metric", "decode_batch1_tok_s"}, {"value", decode}, {"new_tokens", new_tokens}});
  }
  for (size_t concurrency : {8u, 32u}) {
    std::vector<std::vector<int64_t>> prompts;
    for (size_t i = 0; i < concurrency; ++i) prompts.push_back(random_prompt(128, 200 + i, vocab));
    auto [results, seconds] = engine.run(prompts, new_tokens);
    int64_t total = 0;
    for (const auto& r : results) total += r.completion_tokens;
    print({{"metric", "aggregate_tok_s"},
           {"concurrency", concurrency},
           {"value", static_cast<double>(total) / seconds},
           {"seconds", seconds},
           {"tokens", total}});
  }
  return 0;
}

int greedy(Engine& engine, const std::string& prompts_path, int64_t steps, bool logits,
           const std::string& out_path) {
  std::ifstream in(prompts_path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::vector<int64_t>> prompts;
  const bj::value parsed = bj::parse(text);
  for (const auto& p : parsed.as_array()) {
    std::vector<int64_t> ids;
    for (const auto& v : p.as_array()) ids.push_back(v.to_number<int64_t>());
    prompts.push_back(ids);
  }
  bj::array out;
  auto [together, seconds] = engine.run(prompts, steps);
  for (size_t i = 0; i < prompts.size(); ++i) {
    auto [alone, s] = engine.run({prompts[i]}, steps);
    bj::object item;
    bj::array tokens, batched;
    for (int64_t t : alone[0].tokens) tokens.push_back(t);
    for (int64_t t : together[i].tokens) batched.push_back(t);
    item["greedy"] = std::move(tokens);
    item["greedy_batched"] = std::move(batched);
    if (logits) {
      c10::InferenceMode inference;
      at::Tensor all = engine.model->forward_all(prompts[i]).to(at::kCPU);
      at::Tensor argmax = all.argmax(-1).contiguous();
      bj::array positions;
      for (int64_t k = 0; k < argmax.numel(); ++k) positions.push_back(argmax[k].item<int64_t>());
      auto [values, order] = all[all.size(0) - 1].topk(20);
      bj::array top_ids, top_logits;
      for (int64_t k = 0; k < 20; ++k) {
        top_ids.push_back(order[k].item<int64_t>());
        top_logits.push_back(values[k].item<double>());
      }
      item["all_positions_argmax"] = std::move(positions);
      item["last_top20_ids"] = std::move(top_ids);
      item["last_top20_logits"] = std::move(top_logits);
    }
    out.push_back(std::move(item));
  }
  std::ofstream(out_path) << bj::serialize(out);
  print({{"greedy", prompts.size()}, {"steps", steps}, {"out", out_path}});
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Benchmarks and reference dumps for the Llama engine"};
  app.require_subcommand(1);
  std::string model_dir, device = "auto", dtype = "auto", prompts, out = "greedy.json";
  std::string rope = "float32";
  int64_t max_batch = 32, max_len = 2048, new_tokens = 256, steps = 32;
  bool logits = false, no_graphs = false, unfused = false;
  auto common = [&](CLI::App* sub) {
    sub->add_option("--model", model_dir, "Hugging Face model directory")->required();
    sub->add_option("--device", device, "cpu, cuda, auto");
    sub->add_option("--dtype", dtype, "float32, bfloat16, float16, auto");
    sub->add_option("--max-batch", max_batch, "KV-cache slots");
    sub->add_option("--max-seq-len", max_len, "positions per slot");
    sub->add_flag("--no-graphs", no_graphs, "decode without CUDA graphs");
    sub->add_option("--rope-frequency-dtype", rope, "float32 (transformers) or bfloat16");
    sub->add_flag("--unfused", unfused, "one matrix multiply per projection, as transformers");
  };
  CLI::App* bench_cmd = app.add_subcommand("bench", "TTFT, batch-1 decode, aggregate tok/s");
  common(bench_cmd);
  bench_cmd->add_option("--new-tokens", new_tokens, "tokens generated per request");
  CLI::App* greedy_cmd = app.add_subcommand("greedy", "greedy tokens (and logits) for prompts");
  common(greedy_cmd);
  greedy_cmd->add_option("--prompts", prompts, "JSON list of token-id lists")->required();
  greedy_cmd->add_option("--steps", steps, "tokens to generate");
  greedy_cmd->add_flag("--logits", logits, "also dump argmax and top-20 logits");
  greedy_cmd->add_option("--out", out, "output JSON file");
  CLI::App* context_cmd = app.add_subcommand("context", "hold a bare CUDA context");
  context_cmd->add_option("--device", device, "cuda");
  CLI11_PARSE(app, argc, argv);

  try {
    if (context_cmd->parsed()) {
      const at::Device d = resolve_device(device);
      at::Tensor a = at::ones({64, 64}, at::TensorOptions().device(d));
      at::Tensor b = at::matmul(a, a).sum().to(at::kCPU);  // creates the cuBLAS handle
      print({{"context", d.str()}, {"check", b.item<double>()}});
      std::cout << "READY" << std::endl;
      std::string line;
      std::getline(std::cin, line);
      return 0;
    }
    Engine engine(model_dir, device, dtype, max_batch, max_len, !no_graphs, !unfused, rope);
    print({{"loaded", model_dir},
           {"device", engine.model->device().str()},
           {"dtype", std::string(c10::toString(engine.model->dtype()))},
           {"seconds", engine.load_s}});
    if (bench_cmd->parsed()) return bench(engine, new_tokens);
    return greedy(engine, prompts, steps, logits, out);
  } catch (const std::exception& error) {
    std::cerr << "bench_llama: " << error.what() << "\n";
    return 1;
  }
}
