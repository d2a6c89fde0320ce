// The llama plugin through the real hostd, as a user reaches it: predict (whole and as
// Server-Sent Events), tokenize, the OpenAI routes, and a client that disconnects mid-stream
// (generation stops: the plugin logs the cancellation, with the tokens generated so far).
#include "support/admin_client.hpp"
#include "support/hostd_process.hpp"
#include "support/http_client.hpp"

#include <boost/json.hpp>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <regex>

namespace mh::llama {
namespace {

namespace bj = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// One hostd serving the tiny full-vocabulary checkpoint as model "tiny".
struct Served {
  e2e::HostdProcess hostd;
  Served() {
    const fs::path dir = hostd.models_dir() / "tiny";
    fs::create_directories(dir);
    fs::copy_file(MH_LLAMA_PLUGIN_PATH, dir / "libmh_llama.so");
    const bj::object manifest{{"plugin", "libmh_llama.so"},
                              {"config", bj::object{{"device", "cpu"},
                                                    {"dtype", "float32"},
                                                    {"max_batch", 4},
                                                    {"max_seq_len", 4096},
                                                    {"max_new_tokens_limit", 4096},
                                                    {"model_dir", MH_TINY_FULL_VOCAB_DIR}}},
                              {"max_concurrency", 16},
                              {"timeout_ms", 60000}};
    std::ofstream(dir / "model.json") << bj::serialize(manifest);
    e2e::AdminClient admin(hostd.admin());
    admin.reload();
    REQUIRE(admin.wait_for_state("tiny", "ready", 60s));
  }
};

Served& served() {
  static Served instance;
  return instance;
}

bj::object post_json(const std::string& target, const std::string& body) {
  e2e::HttpResponse reply = e2e::http_request(served().hostd.http(), "POST", target, body);
  CAPTURE(reply.body);
  REQUIRE(reply.status == 200);
  return reply.json().as_object();
}

// The plugin's counters (its mh.plugin.stats/1 extension), as hostd serves them.
bj::object stats() {
  e2e::HttpResponse reply =
      e2e::http_request(served().hostd.http(), "GET", "/v1/models/tiny/stats");
  CAPTURE(reply.body);
  REQUIRE(reply.status == 200);
  return reply.json().as_object();
}

TEST_CASE("e2e.predict") {
  bj::object r =
      post_json("/v1/models/tiny/predict", R"({"prompt": "Hello", "max_new_tokens": 10})");
  CHECK(r.at("tokens").as_array().size() == 10u);
  CHECK(r.at("finish_reason").as_string() == "length");
  CHECK(r.at("usage").at("prompt_tokens").as_int64() == 2);

  e2e::HttpResponse bad =
      e2e::http_request(served().hostd.http(), "POST", "/v1/models/tiny/predict",
                        R"({"prompt": "Hello", "top_p": 7})");
  CHECK(bad.status == 400);
  CHECK(bad.body.find("top_p") != std::string::npos);

  bj::object ids = post_json("/v1/models/tiny/tokenize", R"({"text": "Hello world"})");
  CHECK(ids.at("ids").as_array() == bj::array{128000, 9906, 1917});
  bj::object text = post_json("/v1/models/tiny/detokenize", R"({"ids": [9906, 1917]})");
  CHECK(text.at("text").as_string() == "Hello world");
}

TEST_CASE("e2e.predict_stream") {
  const std::string body = R"({"prompt": "Once upon a time", "max_new_tokens": 16})";
  bj::object whole = post_json("/v1/models/tiny/predict", body);
  e2e::HttpClient client(served().hostd.http());
  std::string streamed_body = body;
  streamed_body.insert(streamed_body.size() - 1, R"(, "stream": true)");
  e2e::HttpResponse head = client.start_stream("POST", "/v1/models/tiny/predict", streamed_body);
  REQUIRE(head.status == 200);
  CHECK(head.header("content-type").find("text/event-stream") != std::string::npos);
  std::vector<bj::object> events;
  while (auto event = client.next_event(30s)) {
    if (*event == "[DONE]") continue;
    events.push_back(bj::parse(*event).as_object());
  }
  REQUIRE(events.size() >= 2u);
  std::string joined;
  for (size_t i = 0; i + 1 < events.size(); ++i) joined += events[i].at("text").as_string();
  const bj::object& last = events.back();  // the whole response closes the stream
  CHECK(last.at("text") == whole.at("text"));
  CHECK(joined == whole.at("text").as_string());
  CHECK(last.at("tokens") == whole.at("tokens"));
}

TEST_CASE("e2e.openai_chat_completions") {
  bj::object r = post_json("/v1/chat/completions",
                           R"({"model": "tiny", "max_tokens": 8,
                               "messages": [{"role": "user", "content": "Hi"}]})");
  CHECK(r.at("object").as_string() == "chat.completion");
  CHECK(r.at("choices").as_array()[0].at("message").at("role").as_string() == "assistant");
  CHECK(r.at("usage").at("completion_tokens").as_int64() == 8);
}

// Issue 10, findings 3 and 11 over HTTP: a temperature that once failed every generation in
// flight is greedy, and the operator's max_new_tokens_limit is a cap the client cannot raise.
TEST_CASE("e2e.sampling_values_and_length_cap") {
  const bj::object greedy =
      post_json("/v1/models/tiny/predict", R"({"prompt": "Hello", "max_new_tokens": 6})");
  const bj::object cold = post_json("/v1/models/tiny/predict",
                                    R"({"prompt": "Hello", "max_new_tokens": 6,
                                        "temperature": 1e-320})");
  CHECK(cold.at("tokens") == greedy.at("tokens"));

  e2e::HttpResponse over = e2e::http_request(
      served().hostd.http(), "POST", "/v1/chat/completions",
      R"({"model": "tiny", "max_tokens": 5000, "messages": [{"role": "user", "content": "Hi"}]})");
  CHECK(over.status == 400);
  CHECK(over.body.find("max_tokens: 5000") != std::string::npos);
  CHECK(over.body.find("max_new_tokens_limit") != std::string::npos);
  CHECK(over.body.find("4096") != std::string::npos);
  e2e::HttpResponse hot =
      e2e::http_request(served().hostd.http(), "POST", "/v1/models/tiny/predict",
                        R"({"prompt": "Hello", "temperature": 7})");
  CHECK(hot.status == 400);
  CHECK(hot.body.find("temperature") != std::string::npos);
  CHECK(hot.body.find("Exception raised from") == std::string::npos);
}

TEST_CASE("e2e.client_disconnect_stops_generation") {
  Served& s = served();
  const size_t before = s.hostd.count_in_log("stopped: cancelled");
  const bj::object stats_before = stats();
  {
    e2e::HttpClient client(s.hostd.http());
    e2e::HttpResponse head = client.start_stream(
        "POST", "/v1/models/tiny/predict",
        R"({"prompt": "Tell me a long story", "max_new_tokens": 4000, "stream": true})");
    REQUIRE(head.status == 200);
    for (int i = 0; i < 5; ++i) REQUIRE(client.next_event(30s).has_value());
    client.close();  // the client goes away mid-stream
  }
  REQUIRE(s.hostd.wait_for_log("stopped: cancelled", 30s, before + 1));
  // The plugin stopped well before the 4,000 tokens asked for.
  const std::regex after_tokens("stopped: cancelled after ([0-9]+) generated tokens");
  std::smatch m;
  const std::string log = s.hostd.log();
  std::string::const_iterator from = log.begin();
  long generated = -1;
  while (std::regex_search(from, log.end(), m, after_tokens)) {
    generated = std::stol(m[1]);
    from = m.suffix().first;
  }
  CHECK(generated > 0);
  CHECK(generated < 4000);

  // The plugin's own counters, over HTTP: one more cancelled request, and far fewer than
  // 4,000 tokens generated since.
  const bj::object stats_after = stats();
  CHECK(stats_after.at("requests_cancelled").to_number<int64_t>() ==
        stats_before.at("requests_cancelled").to_number<int64_t>() + 1);
  const int64_t tokens_since = stats_after.at("tokens_generated").to_number<int64_t>() -
                               stats_before.at("tokens_generated").to_number<int64_t>();
  CHECK(tokens_since > 0);
  CHECK(tokens_since < 4000);
}

}  // namespace
}  // namespace mh::llama
