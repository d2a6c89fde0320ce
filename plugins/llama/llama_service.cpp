#include "llama_service.hpp"

#include "exception_message.hpp"
#include "generation/device_stream.hpp"
#include "response_format.hpp"
#include "tokenizer/stream_decoder.hpp"
#include "weights.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <set>

namespace mh::llama {

namespace bj = boost::json;
namespace fs = std::filesystem;

namespace {

// TokenTextStream over the tokenizer's UTF-8-safe streaming decoder.
class DecoderTextStream : public TokenTextStream {
 public:
  explicit DecoderTextStream(const Tokenizer& tokenizer) : decoder_(tokenizer, false) {}
  std::string push(int64_t token) override { return decoder_.push(static_cast<TokenId>(token)); }
  std::string flush() override { return decoder_.finish(); }

 private:
  StreamDecoder decoder_;
};

// Where a generation's output goes: the predict shape or OpenAI's, streamed or whole.
class ResponseSink : public GenerationSink {
 public:
  ResponseSink(mh::Response response, Route route, bool stream, bool include_usage,
               bool answer_field, OpenAiIdentity who)
      : response_(std::move(response)),
        route_(route),
        stream_(stream),
        include_usage_(include_usage),
        answer_field_(answer_field),
        who_(std::move(who)) {}

  mh_status cancellation() override { return response_.cancellation(); }

  mh_status on_text(std::string_view text) override {
    if (!stream_) return MH_OK;
    switch (route_) {
      case Route::kChatCompletions:
        if (const mh_status status = send_role(); status != MH_OK) return status;
        return write(chat_chunk(who_, std::nullopt, text, std::nullopt, include_usage_));
      case Route::kCompletions:
        return write(completion_chunk(who_, text, std::nullopt, include_usage_));
      default:
        return write(predict_chunk(text));
    }
  }

  void on_finish(GenerationResult result) override {
    if (result.status != MH_OK) {
      response_.fail(result.status, result.message);
      return;
    }
    if (route_ == Route::kPredict) {
      response_.finish(predict_response(result, answer_field_));
      return;
    }
    const bool chat = route_ == Route::kChatCompletions;
    if (!stream_) {
      response_.finish(chat ? chat_completion(who_, result) : text_completion(who_, result));
      return;
    }
    if (chat) {
      send_role();
      write(chat_chunk(who_, std::nullopt, std::nullopt, result.finish_reason, include_usage_));
    } else {
      write(completion_chunk(who_, "", result.finish_reason, include_usage_));
    }
    if (include_usage_) write(usage_chunk(who_, chat, result));
    // The last chunks did not go out because the client is not reading: the stream is cut
    // short, and the request says so instead of claiming success.
    if (refused_) {
      response_.fail(MH_RESOURCE_EXHAUSTED, "the client is not reading the stream");
      return;
    }
    response_.finish("");
  }

 private:
  mh_status send_role() {
    if (role_sent_) return MH_OK;
    role_sent_ = true;
    return write(chat_chunk(who_, "assistant", "", std::nullopt, include_usage_));
  }

  // mh::Response::write says only whether the chunk went out. One that did not while the
  // client still waits and the deadline holds was refused by the host because the client is
  // not reading (MH_RESOURCE_EXHAUSTED in mh_response.write's contract); otherwise the client
  // is gone or the deadline passed, and cancellation() says which.
  mh_status write(std::string_view chunk) {
    if (refused_) return MH_RESOURCE_EXHAUSTED;
    if (response_.write(chunk)) return MH_OK;
    const mh_status gone = response_.cancellation();
    if (gone != MH_OK) return gone;
    refused_ = true;
    return MH_RESOURCE_EXHAUSTED;
  }

  mh::Response response_;
  Route route_;
  bool stream_;
  bool include_usage_;
  bool answer_field_;
  OpenAiIdentity who_;
  bool role_sent_ = false;
  bool refused_ = false;  // the host refused a chunk: nothing more is written
};

}  // namespace

LlamaService::LlamaService(const fs::path& model_dir, const ServiceConfig& config,
                           std::string model_name, LogFunction log)
    : name_(std::move(model_name)), log_(std::move(log)), device_(at::kCPU) {
  if (!fs::is_directory(model_dir))
    throw mh::Error(MH_NOT_FOUND, "model directory " + model_dir.string() + " does not exist");
  ModelConfig model_config = load_model_config(model_dir);
  model_config.rope_frequency_dtype = config.rope_frequency_dtype;
  const GenerationDefaults generation = load_generation_config(model_dir);
  if (!fs::exists(model_dir / "tokenizer.json"))
    throw mh::Error(MH_NOT_FOUND, "tokenizer.json is missing in " + model_dir.string());
  try {
    tokenizer_ = std::make_unique<Tokenizer>(Tokenizer::from_directory(model_dir));
  } catch (const TokenizerError& error) {
    throw mh::Error(MH_INVALID_ARGUMENT, error.what());
  }
  if (static_cast<int64_t>(tokenizer_->vocab_size()) > model_config.vocab_size)
    throw mh::Error(MH_INVALID_ARGUMENT, "tokenizer.json has " +
                                             std::to_string(tokenizer_->vocab_size()) +
                                             " tokens but the model's vocab_size is " +
                                             std::to_string(model_config.vocab_size));

  device_ = resolve_device(config.device);
  const at::ScalarType dtype = resolve_dtype(config.dtype, model_config, device_);
  const int64_t default_len = device_.is_cuda() ? 4096 : 2048;
  const int64_t max_len = config.max_seq_len > 0
                              ? config.max_seq_len
                              : std::min(model_config.max_position_embeddings, default_len);
  const int64_t max_batch = config.max_batch > 0 ? config.max_batch : (device_.is_cuda() ? 32 : 8);

  const auto started = std::chrono::steady_clock::now();
  LlamaWeights weights = load_weights(model_dir, model_config, device_, dtype);
  model_ = std::make_unique<LlamaModel>(model_config, std::move(weights), max_len, device_, dtype);
  model_->set_fused_projections(config.fused_projections);

  // EOS: generation_config.json's list, config.json's, the tokenizer's, and <|eot_id|> (the
  // end of a chat turn) — any of them ends a generation.
  std::set<int64_t> eos(generation.eos_token_ids.begin(), generation.eos_token_ids.end());
  eos.insert(model_config.eos_token_ids.begin(), model_config.eos_token_ids.end());
  if (auto id = tokenizer_->eos_id()) eos.insert(*id);
  if (auto id = tokenizer_->token_to_id("<|eot_id|>")) eos.insert(*id);

  SchedulerOptions options;
  options.max_batch = max_batch;
  options.max_len = max_len;
  options.prefill_chunk = config.prefill_chunk;
  options.cuda_graphs = config.cuda_graphs;
  options.eos_token_ids.assign(eos.begin(), eos.end());
  options.log = log_;
  const Tokenizer* tokenizer = tokenizer_.get();
  scheduler_ = std::make_unique<Scheduler>(
      *model_, options, [tokenizer] { return std::make_unique<DecoderTextStream>(*tokenizer); });

  defaults_.max_new_tokens = config.max_new_tokens;
  defaults_.max_new_tokens_limit = config.max_new_tokens_limit;
  defaults_.generation = generation;
  defaults_.chat_template = is_llama3_chat_model(*tokenizer_, model_dir);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (log_) {
    log_(MH_LOG_INFO,
         "loaded " + model_dir.string() + ": " + std::to_string(model_config.num_layers) +
             " layers, hidden " + std::to_string(model_config.hidden_size) + ", vocab " +
             std::to_string(model_config.vocab_size) + " on " + device_.str() + " " +
             std::string(c10::toString(dtype)) + ", max_batch " + std::to_string(max_batch) +
             ", max_seq_len " + std::to_string(max_len) + " in " + std::to_string(seconds) +
             " s; \"user_prompt\" is " +
             (defaults_.chat_template ? "a user message in the Llama 3 chat format"
                                      : "plain text (tokenizer_config.json has no chat_template)"));
  }
}

LlamaService::~LlamaService() {
  if (scheduler_) scheduler_->stop();
  scheduler_.reset();
  if (model_) model_->release();
  model_.reset();
  release_cached_device_memory(device_);
  if (log_) log_(MH_LOG_INFO, "released the model and its memory");
}

std::vector<int64_t> LlamaService::prompt_ids(const PromptInput& prompt) const {
  if (prompt.ids) return *prompt.ids;
  if (prompt.messages) return format_llama3_chat(*tokenizer_, *prompt.messages);
  EncodeOptions options;
  options.add_bos = true;
  std::vector<int64_t> ids;
  try {
    for (TokenId id : tokenizer_->encode(*prompt.text, options)) ids.push_back(id);
  } catch (const std::invalid_argument& error) {
    throw mh::Error(MH_INVALID_ARGUMENT, std::string("prompt: ") + error.what());
  }
  return ids;
}

std::string LlamaService::stats_json() const {
  return bj::serialize(bj::object{
      {"tokens_generated", scheduler_->tokens_generated()},
      {"requests_finished", scheduler_->requests_finished()},
      {"requests_cancelled", scheduler_->requests_cancelled()},
      {"active", scheduler_->active()},
  });
}

void LlamaService::handle(const mh::Request& request, mh::Response& response) {
  try {
    answer(request, response);
  } catch (const mh::Error& error) {
    response.fail(error.code(), error.what());
  } catch (const std::exception& error) {
    // libtorch's errors carry a backtrace: the log gets it, the client one line.
    if (log_)
      log_(MH_LOG_ERROR, "request " + std::string(request.id()) + ": " + log_message(error));
    response.fail(MH_INTERNAL, client_message(error));
  } catch (...) {
    response.fail(MH_INTERNAL, "unknown exception in the llama plugin");
  }
}

void LlamaService::answer(const mh::Request& request, mh::Response& response) {
  const std::optional<Route> route = parse_route(request.route());
  if (!route)
    throw mh::Error(MH_UNIMPLEMENTED,
                    "the llama plugin does not serve route \"" + std::string(request.route()) +
                        "\" (it serves predict, chat.completions, completions, tokenize, "
                        "detokenize)");
  switch (*route) {
    case Route::kTokenize: {
      TokenizeRequest req = parse_tokenize_request(request.body());
      EncodeOptions options;
      options.add_bos = req.add_special_tokens;
      bj::array ids;
      try {
        for (TokenId id : tokenizer_->encode(req.text, options)) ids.push_back(id);
      } catch (const std::invalid_argument& error) {
        throw mh::Error(MH_INVALID_ARGUMENT, std::string("text: ") + error.what());
      }
      response.finish(bj::serialize(bj::object{{"ids", std::move(ids)}}));
      return;
    }
    case Route::kDetokenize: {
      DetokenizeRequest req = parse_detokenize_request(request.body());
      std::vector<TokenId> ids;
      for (int64_t id : req.ids) {
        if (id < 0 || id > INT32_MAX || !tokenizer_->contains(static_cast<TokenId>(id)))
          throw mh::Error(MH_INVALID_ARGUMENT,
                          "ids: " + std::to_string(id) + " is not a token of this tokenizer");
        ids.push_back(static_cast<TokenId>(id));
      }
      response.finish(
          bj::serialize(bj::object{{"text", tokenizer_->decode(ids, req.skip_special_tokens)}}));
      return;
    }
    default:
      generate(request, response, *route);
      return;
  }
}

void LlamaService::generate(const mh::Request& request, mh::Response& response, Route route) {
  GenerateRequest req = parse_generate_request(route, request.body(), defaults_);
  std::vector<int64_t> prompt = prompt_ids(req.prompt);
  OpenAiIdentity who;
  who.id = std::string(route == Route::kChatCompletions ? "chatcmpl-" : "cmpl-") +
           std::string(request.id());
  who.created = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  who.model = req.model.empty() ? name_ : req.model;
  auto sink = std::make_shared<ResponseSink>(std::move(response), route, request.stream(),
                                             req.include_usage, req.answer_field, std::move(who));
  // The response is the sink's now: every failure from here on finishes through it.
  GenerationResult failed;
  try {
    scheduler_->submit(std::string(request.id()), std::move(prompt), std::move(req.options), sink);
    return;
  } catch (const mh::Error& error) {
    failed.status = error.code();
    failed.message = error.what();
  } catch (const std::exception& error) {
    if (log_)
      log_(MH_LOG_ERROR, "request " + std::string(request.id()) + ": " + log_message(error));
    failed.status = MH_INTERNAL;
    failed.message = client_message(error);
  }
  sink->on_finish(std::move(failed));
}

}  // namespace mh::llama
