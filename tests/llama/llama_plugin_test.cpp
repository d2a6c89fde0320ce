// The whole plugin through its C ABI, as hostd drives it: dlopen libmh_llama.so, init on a
// tiny random checkpoint with the real Llama 3 tokenizer, then every route, the stats
// extension, streaming, cancellation and cleanup.
#include "sdk/recording_host.hpp"

#include <boost/json.hpp>

#include <doctest/doctest.h>

#include <dlfcn.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

namespace mh::llama {
namespace {

namespace bj = boost::json;

const mh_plugin* plugin_table() {
  static void* library = [] {
    void* handle = dlopen(MH_LLAMA_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) FAIL("dlopen: " << dlerror());
    return handle;
  }();
  auto get = reinterpret_cast<mh_plugin_get_fn>(dlsym(library, MH_PLUGIN_ENTRY_SYMBOL));
  REQUIRE(reinterpret_cast<void*>(get) != nullptr);
  const mh_plugin* table = get(MH_ABI_VERSION);
  REQUIRE(table != nullptr);
  return table;
}

struct Instance {
  mh::test::RecordingHost host;
  mh::test::InitOutcome init;
  const mh_plugin* table = plugin_table();
  std::string files_dir, config;

  Instance(std::string dir, std::string config_json)
      : files_dir(std::move(dir)), config(std::move(config_json)) {
    mh_model_meta meta{};
    meta.struct_size = sizeof(meta);
    meta.name = "tiny";
    meta.files_dir = files_dir.c_str();
    meta.manifest_dir = files_dir.c_str();
    meta.config_json = config.c_str();
    meta.config_json_size = config.size();
    meta.generation = 1;
    table->init(&host.host, &meta, &mh::test::InitOutcome::done, &init);
    REQUIRE(init.wait());
  }
  // No doctest assertions here: the shared instance is destroyed after doctest's own state.
  ~Instance() { cleanup(); }

  bool cleanup() {
    if (init.instance == nullptr) return true;
    mh::test::CleanupOutcome done;
    table->cleanup(init.instance, &mh::test::CleanupOutcome::done, &done);
    init.instance = nullptr;
    return done.wait();
  }

  std::unique_ptr<mh::test::RecordedCall> start(const std::string& route, const std::string& body,
                                                bool stream = false) {
    auto call = std::make_unique<mh::test::RecordedCall>(body, stream);
    call->route = route;
    call->request.route = call->route.c_str();
    table->predict(init.instance, &call->request, &call->response);
    return call;
  }
  // Runs one request to its end; returns (status, body).
  std::pair<mh_status, std::string> call(const std::string& route, const std::string& body) {
    auto c = start(route, body);
    REQUIRE(c->wait());
    return {c->status, c->final_body};
  }
  // The counters, through the mh.plugin.stats/1 extension, as hostd reads them.
  bj::object stats() {
    const auto* extension =
        static_cast<const mh_plugin_stats*>(table->get_extension(MH_PLUGIN_STATS_EXTENSION));
    REQUIRE(extension != nullptr);
    std::string json;
    const mh_status status = extension->read(
        init.instance,
        [](void* context, const char* data, size_t size) {
          static_cast<std::string*>(context)->assign(data, size);
        },
        &json);
    REQUIRE(status == MH_OK);
    return bj::parse(json).as_object();
  }
};

Instance& tiny() {
  static Instance instance(MH_TINY_FULL_VOCAB_DIR,
                           R"({"device": "cpu", "dtype": "float32", "max_batch": 4,
                               "max_seq_len": 1024})");
  REQUIRE(instance.init.status == MH_OK);
  return instance;
}

bj::object json_of(const std::string& text) {
  return bj::parse(text).as_object();
}

TEST_CASE("plugin.init_errors") {
  {
    Instance bad_device(MH_TINY_FULL_VOCAB_DIR, R"({"device": "tpu"})");
    CHECK(bad_device.init.status == MH_INVALID_ARGUMENT);
    CHECK(bad_device.init.message.find("\"device\"") != std::string::npos);
    CHECK(bad_device.init.instance == nullptr);
  }
  {
    Instance no_tokenizer(MH_TINY_LLAMA3_DIR, R"({"device": "cpu"})");
    CHECK(no_tokenizer.init.status == MH_NOT_FOUND);
    CHECK(no_tokenizer.init.message.find("tokenizer.json is missing") != std::string::npos);
  }
  {
    Instance missing("/nonexistent-model-dir", "{}");
    CHECK(missing.init.status == MH_NOT_FOUND);
  }
  {
    Instance bad_config(MH_TINY_FULL_VOCAB_DIR, R"({"max_batch": 0})");
    CHECK(bad_config.init.status == MH_INVALID_ARGUMENT);
    CHECK(bad_config.init.message.find("max_batch") != std::string::npos);
  }
}

TEST_CASE("plugin.tokenize_detokenize") {
  auto [status, body] = tiny().call("tokenize", R"({"text": "Hello world"})");
  REQUIRE(status == MH_OK);
  bj::array ids = json_of(body).at("ids").as_array();
  CHECK(ids == bj::array{128000, 9906, 1917});
  auto [s2, plain] =
      tiny().call("tokenize", R"({"text": "Hello world", "add_special_tokens": false})");
  CHECK(json_of(plain).at("ids").as_array() == bj::array{9906, 1917});
  auto [s3, text] = tiny().call("detokenize", R"({"ids": [128000, 9906, 1917]})");
  REQUIRE(s3 == MH_OK);
  CHECK(json_of(text).at("text").as_string() == "<|begin_of_text|>Hello world");
  auto [s4, message] = tiny().call("detokenize", R"({"ids": [999999]})");
  CHECK(s4 == MH_INVALID_ARGUMENT);
  CHECK(message.find("ids:") == 0);
}

TEST_CASE("plugin.predict") {
  auto [status, body] = tiny().call("predict", R"({"prompt": "Hello", "max_new_tokens": 8})");
  REQUIRE(status == MH_OK);
  bj::object r = json_of(body);
  CHECK(r.at("tokens").as_array().size() == 8u);
  CHECK(r.at("finish_reason").as_string() == "length");
  CHECK(r.at("usage").at("prompt_tokens").as_int64() == 2);
  CHECK(r.at("usage").at("completion_tokens").as_int64() == 8);
  // The same prompt as ids gives the same greedy text.
  auto [s2, by_ids] = tiny().call("predict", R"({"prompt": [128000, 9906], "max_new_tokens": 8})");
  CHECK(json_of(by_ids).at("text") == r.at("text"));
  // Practicus' shape: the tiny model's tokenizer_config.json has Llama 3's chat template, so
  // "user_prompt" is one user message in the chat format, exactly as "messages" gives it.
  auto [s3, practicus] = tiny().call("predict", R"({"user_prompt": "Hello", "max_new_tokens": 8})");
  REQUIRE(s3 == MH_OK);
  auto [s3m, as_messages] = tiny().call(
      "predict", R"({"messages": [{"role": "user", "content": "Hello"}], "max_new_tokens": 8})");
  REQUIRE(s3m == MH_OK);
  CHECK(json_of(practicus).at("answer") == json_of(as_messages).at("text"));
  CHECK(json_of(practicus).at("tokens") == json_of(as_messages).at("tokens"));
  CHECK(json_of(practicus).at("usage").at("prompt_tokens") ==
        json_of(as_messages).at("usage").at("prompt_tokens"));
  CHECK(json_of(practicus).at("usage").at("prompt_tokens").as_int64() > 2);
  // Truss' shape.
  auto [s4, truss] = tiny().call(
      "predict", R"({"prompt": "Hello", "max_new_tokens": 8, "temperature": 0.8, "top_p": 0.9,
                     "top_k": 20, "seed": 3})");
  CHECK(s4 == MH_OK);
  CHECK(json_of(truss).at("tokens").as_array().size() == 8u);
}

TEST_CASE("plugin.user_prompt_without_chat_template_is_plain_text") {
  // The same checkpoint without tokenizer_config.json: a base model, no chat template.
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("mh-llama-base-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  for (const auto& entry : std::filesystem::directory_iterator(MH_TINY_FULL_VOCAB_DIR)) {
    if (entry.path().filename() != "tokenizer_config.json")
      std::filesystem::create_symlink(entry.path(), dir / entry.path().filename());
  }
  {
    Instance base(dir.string(), R"({"device": "cpu", "dtype": "float32", "max_batch": 2})");
    REQUIRE(base.init.status == MH_OK);
    auto [s1, plain] = base.call("predict", R"({"prompt": "Hello", "max_new_tokens": 6})");
    auto [s2, practicus] = base.call("predict", R"({"user_prompt": "Hello", "max_new_tokens": 6})");
    REQUIRE(s1 == MH_OK);
    REQUIRE(s2 == MH_OK);
    CHECK(json_of(practicus).at("answer") == json_of(plain).at("text"));
    CHECK(json_of(practicus).at("usage").at("prompt_tokens") ==
          json_of(plain).at("usage").at("prompt_tokens"));
    CHECK(base.cleanup());
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("plugin.stats_extension") {
  const mh_plugin* table = plugin_table();
  // (( )): doctest compares a function pointer but cannot print one.
  REQUIRE((table->get_extension != nullptr));
  CHECK(table->get_extension("mh.plugin.no-such-thing/1") == nullptr);
  const auto* extension =
      static_cast<const mh_plugin_stats*>(table->get_extension(MH_PLUGIN_STATS_EXTENSION));
  REQUIRE(extension != nullptr);
  CHECK(MH_HAS_FIELD(extension, mh_plugin_stats, read));
  REQUIRE((extension->read != nullptr));

  const bj::object before = tiny().stats();
  for (const char* key : {"tokens_generated", "requests_finished", "requests_cancelled", "active"})
    CHECK_MESSAGE(before.contains(key), key);
  auto [status, body] =
      tiny().call("predict", R"({"prompt": "Hi", "max_new_tokens": 3, "ignore_eos": true})");
  REQUIRE(status == MH_OK);
  const bj::object after = tiny().stats();
  CHECK(after.at("requests_finished").as_int64() == before.at("requests_finished").as_int64() + 1);
  CHECK(after.at("tokens_generated").as_int64() >= before.at("tokens_generated").as_int64() + 3);

  // The counters are an extension now, not a route.
  auto [route_status, message] = tiny().call("stats", "{}");
  CHECK(route_status == MH_UNIMPLEMENTED);
}

TEST_CASE("plugin.predict_stream") {
  auto call = tiny().start("predict", R"({"prompt": "Hello", "max_new_tokens": 12})", true);
  REQUIRE(call->wait());
  REQUIRE(call->status == MH_OK);
  std::string joined;
  for (const auto& chunk : call->chunks) joined += json_of(chunk).at("text").as_string();
  bj::object final_object = json_of(call->final_body);
  CHECK(joined == final_object.at("text").as_string());
  CHECK(final_object.at("tokens").as_array().size() == 12u);
  auto [status, whole] = tiny().call("predict", R"({"prompt": "Hello", "max_new_tokens": 12})");
  CHECK(json_of(whole).at("text") == final_object.at("text"));
}

TEST_CASE("plugin.chat_completions") {
  const std::string request =
      R"({"model": "tiny", "messages": [{"role": "system", "content": "Be brief."},
          {"role": "user", "content": "Hi there"}], "max_tokens": 10, "temperature": 0})";
  auto [status, body] = tiny().call("chat.completions", request);
  REQUIRE(status == MH_OK);
  bj::object r = json_of(body);
  CHECK(r.at("object").as_string() == "chat.completion");
  CHECK(r.at("model").as_string() == "tiny");
  CHECK(r.at("id").as_string().starts_with("chatcmpl-"));
  CHECK(r.at("created").as_int64() > 1700000000);
  const bj::object& choice = r.at("choices").as_array()[0].as_object();
  CHECK(choice.at("message").at("role").as_string() == "assistant");
  CHECK(choice.at("finish_reason").as_string() == "length");
  // <|begin_of_text|> + 2 × (header 3 + "\n\n…" + <|eot_id|>) + assistant header.
  CHECK(r.at("usage").at("prompt_tokens").as_int64() > 15);
  CHECK(r.at("usage").at("completion_tokens").as_int64() == 10);
  CHECK(r.at("usage").at("total_tokens").as_int64() ==
        r.at("usage").at("prompt_tokens").as_int64() + 10);

  std::string streamed = request;
  streamed.insert(streamed.size() - 1,
                  R"(, "stream": true, "stream_options": {"include_usage": true})");
  auto call = tiny().start("chat.completions", streamed, true);
  REQUIRE(call->wait());
  REQUIRE(call->status == MH_OK);
  CHECK(call->final_body.empty());
  REQUIRE(call->chunks.size() >= 3u);
  std::string content;
  for (size_t i = 0; i < call->chunks.size(); ++i) {
    bj::object chunk = json_of(call->chunks[i]);
    CHECK(chunk.at("object").as_string() == "chat.completion.chunk");
    CHECK(chunk.at("id") == r.at("id"));
    const bj::array& choices = chunk.at("choices").as_array();
    if (i + 1 == call->chunks.size()) {  // usage chunk
      CHECK(choices.empty());
      CHECK(chunk.at("usage").at("completion_tokens").as_int64() == 10);
      continue;
    }
    CHECK(chunk.at("usage").is_null());
    const bj::object& delta = choices[0].at("delta").as_object();
    if (i == 0) CHECK(delta.at("role").as_string() == "assistant");
    if (const auto* c = delta.if_contains("content")) content += c->as_string();
    const bool last_choice = i + 2 == call->chunks.size();
    CHECK(choices[0].at("finish_reason").is_null() != last_choice);
  }
  CHECK(content == choice.at("message").at("content").as_string());
}

TEST_CASE("plugin.completions") {
  auto [status, body] = tiny().call("completions", R"({"prompt": "Once upon", "max_tokens": 6})");
  REQUIRE(status == MH_OK);
  bj::object r = json_of(body);
  CHECK(r.at("object").as_string() == "text_completion");
  CHECK(r.at("choices").as_array()[0].at("finish_reason").as_string() == "length");
  auto call = tiny().start("completions",
                           R"({"prompt": "Once upon", "max_tokens": 6, "stream": true})", true);
  REQUIRE(call->wait());
  std::string text;
  for (const auto& chunk : call->chunks) {
    bj::object c = json_of(chunk);
    CHECK(c.if_contains("usage") == nullptr);
    text += c.at("choices").as_array()[0].at("text").as_string();
  }
  CHECK(text == r.at("choices").as_array()[0].at("text").as_string());
  CHECK(json_of(call->chunks.back()).at("choices").as_array()[0].at("finish_reason").as_string() ==
        "length");
}

TEST_CASE("plugin.bad_requests") {
  auto [s1, m1] = tiny().call("predict", R"({"prompt": "x", "temperature": -2})");
  CHECK(s1 == MH_INVALID_ARGUMENT);
  CHECK(m1.find("temperature") == 0);
  auto [s2, m2] = tiny().call("chat.completions",
                              R"({"messages": [{"role": "user", "content": "x"}], "n": 3})");
  CHECK(s2 == MH_INVALID_ARGUMENT);
  CHECK(m2.find("n:") == 0);
  auto [s3, m3] = tiny().call("embeddings", "{}");
  CHECK(s3 == MH_UNIMPLEMENTED);
  auto [s4, m4] = tiny().call("predict", "[1, 2");
  CHECK(s4 == MH_INVALID_ARGUMENT);
  auto [s5, m5] = tiny().call("predict", R"({"prompt": [1, 200000]})");
  CHECK(s5 == MH_INVALID_ARGUMENT);
  CHECK(m5.find("prompt:") == 0);
}

// Issue 10, finding 3: "temperature": 1e-320 failed every generation in flight with a 500 and
// a libtorch backtrace. Now a temperature that small is greedy, and the request beside it runs
// on untouched.
TEST_CASE("plugin.tiny_temperature_fails_nobody") {
  auto [gs, greedy] = tiny().call("predict", R"({"prompt": "Hello", "max_new_tokens": 8})");
  REQUIRE(gs == MH_OK);
  auto [os, alone] = tiny().call(
      "predict", R"({"prompt": "Once upon", "max_new_tokens": 40, "ignore_eos": true})");
  REQUIRE(os == MH_OK);
  auto other = tiny().start(
      "predict", R"({"prompt": "Once upon", "max_new_tokens": 40, "ignore_eos": true})", true);
  auto [status, body] =
      tiny().call("predict", R"({"prompt": "Hello", "max_new_tokens": 8, "temperature": 1e-320})");
  CHECK(status == MH_OK);
  CHECK(body.find("Exception raised from") == std::string::npos);
  if (status == MH_OK) CHECK(json_of(body).at("tokens") == json_of(greedy).at("tokens"));
  REQUIRE(other->wait());
  CHECK(other->status == MH_OK);
  CHECK(other->final_body.find("Exception raised from") == std::string::npos);
  if (other->status == MH_OK)
    CHECK(json_of(other->final_body).at("tokens") == json_of(alone).at("tokens"));
}

// Issue 10, finding 11: the client's max_tokens overrode the operator's limit. The manifest's
// config.max_new_tokens_limit is a cap no request may exceed (400 naming key, value and cap).
TEST_CASE("plugin.max_new_tokens_limit_caps_requests") {
  Instance capped(MH_TINY_FULL_VOCAB_DIR,
                  R"({"device": "cpu", "dtype": "float32", "max_batch": 2,
                      "max_new_tokens": 16, "max_new_tokens_limit": 32})");
  REQUIRE(capped.init.status == MH_OK);
  auto [s1, m1] = capped.call("chat.completions",
                              R"({"messages": [{"role": "user", "content": "x"}],
                                  "max_tokens": 33})");
  CHECK(s1 == MH_INVALID_ARGUMENT);
  CHECK(m1.find("max_tokens:") == 0);
  CHECK(m1.find("33") != std::string::npos);
  CHECK(m1.find("max_new_tokens_limit") != std::string::npos);
  CHECK(m1.find("32") != std::string::npos);
  auto [s2, m2] = capped.call("predict", R"({"prompt": "x", "max_new_tokens": 1000000})");
  CHECK(s2 == MH_INVALID_ARGUMENT);
  CHECK(m2.find("max_new_tokens:") == 0);
  auto [s3, at_cap] =
      capped.call("predict", R"({"prompt": "x", "max_new_tokens": 32, "ignore_eos": true})");
  REQUIRE(s3 == MH_OK);
  CHECK(json_of(at_cap).at("tokens").as_array().size() == 32u);
  auto [s4, by_default] = capped.call("predict", R"({"prompt": "x", "ignore_eos": true})");
  REQUIRE(s4 == MH_OK);
  CHECK(json_of(by_default).at("tokens").as_array().size() == 16u);
  CHECK(capped.cleanup());

  Instance inverted(MH_TINY_FULL_VOCAB_DIR,
                    R"({"device": "cpu", "max_new_tokens": 64, "max_new_tokens_limit": 32})");
  CHECK(inverted.init.status == MH_INVALID_ARGUMENT);
  CHECK(inverted.init.message.find("max_new_tokens_limit") != std::string::npos);
}

// Issue 10, finding 2 changed mh_response.write: MH_RESOURCE_EXHAUSTED means the host did not
// send the chunk because the client is not reading. The generation stops and the request
// finishes with that status instead of generating on into chunks nobody sees.
TEST_CASE("plugin.refused_chunk_stops_the_stream") {
  const int64_t before = tiny().stats().at("tokens_generated").as_int64();
  auto call = std::make_unique<mh::test::RecordedCall>(
      R"({"prompt": "Tell me everything", "max_new_tokens": 300, "ignore_eos": true})", true);
  call->response.write = [](mh_response* r, const char* data, size_t size) -> mh_status {
    auto* self = static_cast<mh::test::RecordedCall*>(r->host_data);
    std::lock_guard lock(self->mutex);
    if (self->chunks.size() >= 3) return MH_RESOURCE_EXHAUSTED;
    self->chunks.emplace_back(data, size);
    return MH_OK;
  };
  tiny().table->predict(tiny().init.instance, &call->request, &call->response);
  REQUIRE(call->wait());
  CHECK(call->status == MH_RESOURCE_EXHAUSTED);
  CHECK(call->final_body == "the client is not reading the stream");
  CHECK(call->finish_calls_after_settling() == 1);
  CHECK(tiny().stats().at("tokens_generated").as_int64() - before < 300);
}

// Bodies that once could have reached the engine: nesting deeper than the parser allows, too
// many or too long stop strings, a completion prompt of no tokens.
TEST_CASE("plugin.hostile_bodies_are_400") {
  const std::string deep = R"({"prompt": )" + std::string(100000, '[') + "]}";
  auto [s1, m1] = tiny().call("predict", deep);
  CHECK(s1 == MH_INVALID_ARGUMENT);
  auto [s2, m2] =
      tiny().call("predict", R"({"prompt": "x", "stop": [")" + std::string(100000, 'a') + R"("]})");
  CHECK(s2 == MH_INVALID_ARGUMENT);
  CHECK(m2.find("stop:") == 0);
  CHECK(m2.size() < 300u);
  auto [s3, m3] = tiny().call("completions", R"({"prompt": [[]]})");
  CHECK(s3 == MH_INVALID_ARGUMENT);
  CHECK(m3.find("prompt:") == 0);
  auto [s4, m4] = tiny().call("predict", R"({"prompt": "x", "temperature": 1e400})");
  CHECK(s4 == MH_INVALID_ARGUMENT);
}

TEST_CASE("plugin.cancellation_stops_generation") {
  const int64_t before_cancelled = tiny().stats().at("requests_cancelled").as_int64();
  auto call =
      tiny().start("predict", R"({"prompt": "Tell me everything", "max_new_tokens": 900})", true);
  // Let it run a little, then the client goes away.
  for (int i = 0; i < 2000; ++i) {
    {
      std::lock_guard lock(call->mutex);
      if (call->chunks.size() >= 5) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  call->cancellation = MH_CANCELLED;
  REQUIRE(call->wait());
  CHECK(call->status == MH_CANCELLED);
  const int64_t tokens = tiny().stats().at("tokens_generated").as_int64();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(tiny().stats().at("tokens_generated").as_int64() == tokens);
  CHECK(tiny().stats().at("requests_cancelled").as_int64() == before_cancelled + 1);
  CHECK(call->chunks.size() < 100u);
  std::lock_guard lock(tiny().host.mutex);
  bool logged = false;
  for (const auto& line : tiny().host.log_lines)
    logged = logged || line.find("stopped: cancelled") != std::string::npos;
  CHECK(logged);
}

TEST_CASE("plugin.cleanup_finishes_open_requests") {
  Instance instance(MH_TINY_FULL_VOCAB_DIR,
                    R"({"device": "cpu", "max_batch": 1, "max_seq_len": 4096})");
  REQUIRE(instance.init.status == MH_OK);
  auto running = instance.start("predict", R"({"prompt": "a", "max_new_tokens": 4000})", true);
  auto queued = instance.start("predict", R"({"prompt": "b", "max_new_tokens": 5})");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(instance.cleanup());
  REQUIRE(running->wait());
  REQUIRE(queued->wait());
  CHECK(running->status == MH_CANCELLED);
  CHECK(queued->status == MH_CANCELLED);
  CHECK(running->finish_calls_after_settling() == 1);
}

}  // namespace
}  // namespace mh::llama
