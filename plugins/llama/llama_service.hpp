// One served Llama model: loads the Hugging Face files, owns the tokenizer, the network and
// the scheduler, answers every route (predict, chat.completions, completions, tokenize,
// detokenize) and reports its counters. The plugin glue (llama_plugin.cpp) only forwards.
#pragma once

#include "generation/scheduler.hpp"
#include "llama_model.hpp"
#include "model_config.hpp"
#include "request_parsing.hpp"
#include "service_config.hpp"
#include "tokenizer/tokenizer.hpp"

#include <modelhost/plugin.hpp>

#include <filesystem>
#include <memory>
#include <string>

namespace mh::llama {

class LlamaService {
 public:
  // Loads everything; throws mh::Error naming what is missing or wrong.
  LlamaService(const std::filesystem::path& model_dir, const ServiceConfig& config,
               std::string model_name, LogFunction log);
  // Stops the scheduler (open requests finish with MH_CANCELLED), drops every tensor and
  // returns cached GPU memory to the driver.
  ~LlamaService();
  LlamaService(const LlamaService&) = delete;
  LlamaService& operator=(const LlamaService&) = delete;

  // Answers one request, now (tokenize, errors) or later from the scheduler thread.
  // Never throws: failures finish the response with their status and a one-line message
  // (exception_message.hpp: no libtorch backtrace reaches a client).
  void handle(const mh::Request& request, mh::Response& response);

  // The counters as one JSON object: tokens_generated, requests_finished,
  // requests_cancelled, active. Quick and thread-safe (atomic reads): the plugin serves it as
  // its mh.plugin.stats/1 extension, on host threads, beside running requests.
  std::string stats_json() const;

  const Tokenizer& tokenizer() const { return *tokenizer_; }
  const Scheduler& scheduler() const { return *scheduler_; }
  const LlamaModel& model() const { return *model_; }

 private:
  void answer(const mh::Request& request, mh::Response& response);  // handle(), may throw
  void generate(const mh::Request& request, mh::Response& response, Route route);
  std::vector<int64_t> prompt_ids(const PromptInput& prompt) const;

  std::string name_;
  LogFunction log_;
  at::Device device_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<LlamaModel> model_;
  std::unique_ptr<Scheduler> scheduler_;
  RequestDefaults defaults_;
};

}  // namespace mh::llama
