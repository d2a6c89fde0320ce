// Shared by the Llama tests: fixture paths, the tiny reference model loaded once, and a
// text stream that spells each token as a fixed letter (the fixture model has no tokenizer).
#pragma once

#include "generation/generation_types.hpp"
#include "kv_cache.hpp"
#include "llama_model.hpp"
#include "model_config.hpp"
#include "weights.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mh::llama::test {

inline std::filesystem::path tiny_fixture_dir() {
  return MH_TINY_LLAMA3_DIR;
}

// The tiny fixture model in float32 on the CPU, set up as the reference was, loaded once per
// test process.
inline LlamaModel& tiny_model() {
  static std::unique_ptr<LlamaModel> model = [] {
    ModelConfig config = load_model_config(tiny_fixture_dir());
    // The reference model had been cast to bfloat16 and back before it ran (its RoPE buffer
    // with it); transformers' from_pretrained keeps float32 frequencies (the default).
    config.rope_frequency_dtype = "bfloat16";
    LlamaWeights weights = load_weights(tiny_fixture_dir(), config, at::kCPU, at::kFloat);
    return std::make_unique<LlamaModel>(config, std::move(weights), 1024, at::kCPU, at::kFloat);
  }();
  return *model;
}

inline boost::json::array expected_cases() {
  const std::string text = read_text_file(tiny_fixture_dir() / "expected.json");
  return boost::json::parse(text).as_object().at("cases").as_array();
}

inline std::vector<int64_t> ids_of(const boost::json::value& value) {
  std::vector<int64_t> out;
  for (const auto& v : value.as_array()) out.push_back(v.to_number<int64_t>());
  return out;
}

// Token t reads as the letter 'a' + t % 26: enough text to test stop strings and streaming.
inline std::string letter(int64_t token) {
  return std::string(1, static_cast<char>('a' + token % 26));
}

class LetterStream : public TokenTextStream {
 public:
  std::string push(int64_t token) override { return letter(token); }
  std::string flush() override { return {}; }
};

// Records what the scheduler sends; cancels itself after `cancel_after` pieces if set.
class RecordingSink : public GenerationSink {
 public:
  // `cancel_after`: report cancellation once this many pieces arrived (-1: never).
  // `piece_delay`: time each on_text takes, to keep a request running for a while.
  explicit RecordingSink(int cancel_after = -1,
                         std::chrono::milliseconds piece_delay = std::chrono::milliseconds(0))
      : cancel_after_(cancel_after), piece_delay_(piece_delay) {}

  mh_status cancellation() override {
    std::lock_guard lock(mutex_);
    if (cancel_after_ >= 0 && static_cast<int>(pieces_.size()) >= cancel_after_)
      return MH_CANCELLED;
    return MH_OK;
  }
  mh_status on_text(std::string_view text) override {
    if (piece_delay_.count() > 0) std::this_thread::sleep_for(piece_delay_);
    std::lock_guard lock(mutex_);
    pieces_.emplace_back(text);
    return MH_OK;
  }
  void on_finish(GenerationResult result) override {
    std::lock_guard lock(mutex_);
    result_ = std::move(result);
    finished_++;
    changed_.notify_all();
  }
  // Waits for on_finish (bounded) and returns the result.
  GenerationResult wait() {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, std::chrono::seconds(60), [this] { return finished_ > 0; });
    return result_;
  }
  int finished() {
    std::lock_guard lock(mutex_);
    return finished_;
  }
  std::vector<std::string> pieces() {
    std::lock_guard lock(mutex_);
    return pieces_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int cancel_after_;
  std::chrono::milliseconds piece_delay_;
  std::vector<std::string> pieces_;
  GenerationResult result_;
  int finished_ = 0;
};

}  // namespace mh::llama::test
