#include "traffic.hpp"

#include <boost/beast/http/verb.hpp>

namespace mh::soak {

namespace http = boost::beast::http;

const char* to_string(Kind kind) {
  switch (kind) {
    case Kind::echo_predict:
      return "echo predict";
    case Kind::echo_stream:
      return "echo stream";
    case Kind::invalid:
      return "invalid";
    case Kind::abandoned:
      return "abandoned";
    case Kind::slow_reader:
      return "slow reader";
    case Kind::llama_stream:
      return "llama stream";
  }
  return "?";
}

void Tally::count(Kind kind, bool expected, const std::string& what) {
  const auto index = static_cast<std::size_t>(kind);
  ++total_[index];
  if (expected) return;
  ++unexpected_[index];
  std::lock_guard lock(mutex_);
  if (example_count_++ < 10) examples_ += std::string("  ") + to_string(kind) + ": " + what + "\n";
}

std::uint64_t Tally::total(Kind kind) const {
  return total_[static_cast<std::size_t>(kind)];
}

std::uint64_t Tally::unexpected(Kind kind) const {
  return unexpected_[static_cast<std::size_t>(kind)];
}

std::uint64_t Tally::unexpected_total() const {
  std::uint64_t sum = 0;
  for (const auto& count : unexpected_) sum += count;
  return sum;
}

std::string Tally::examples() const {
  std::lock_guard lock(mutex_);
  return examples_;
}

namespace {

std::string describe(const Answer& answer) {
  if (!answer.ok()) return answer.error;
  return "HTTP " + std::to_string(answer.status) + " " + answer.body.substr(0, 200);
}

// Answers a loaded hostd may give to a valid request besides 200: admission is full (429).
bool served(const Answer& answer) {
  return answer.ok() && answer.status == 200;
}
bool refused_for_load(const Answer& answer) {
  return answer.ok() && answer.status == 429;
}

}  // namespace

Client::Client(const TrafficSettings& settings, unsigned seed)
    : settings_(settings),
      random_(seed),
      connection_(settings.host, settings.port, settings.timeout) {}

Request Client::post(const std::string& target, std::string body) const {
  Request request(http::verb::post, target, 11);
  request.set(http::field::host, settings_.host);
  request.set(http::field::content_type, "application/json");
  request.keep_alive(true);
  request.body() = std::move(body);
  request.prepare_payload();
  return request;
}

void Client::run_one(Tally& tally) {
  // Weights: mostly valid traffic, a steady share of the hostile kinds.
  const unsigned draw = std::uniform_int_distribution<unsigned>(0, 99)(random_);
  if (draw < 35) return echo_predict(tally);
  if (draw < 50) return echo_stream(tally);
  if (draw < 70) return invalid(tally);
  if (draw < 82) return abandoned(tally);
  if (draw < 87) return slow_reader(tally);
  if (settings_.llama_model) return llama_stream(tally);
  return echo_predict(tally);
}

void Client::echo_predict(Tally& tally) {
  const std::string payload(std::uniform_int_distribution<std::size_t>(0, 4096)(random_), 'x');
  const Answer answer = connection_.exchange(
      post("/v1/models/" + settings_.echo_model + "/predict", R"({"text": ")" + payload + "\"}"));
  tally.count(Kind::echo_predict,
              refused_for_load(answer) ||
                  (served(answer) && answer.body.find(payload) != std::string::npos),
              describe(answer));
}

void Client::echo_stream(Tally& tally) {
  Request request =
      post("/v1/models/" + settings_.echo_model + "/predict", R"({"stream": true, "chunks": 8})");
  request.set(http::field::accept, "text/event-stream");
  const Answer answer = connection_.exchange(request);
  tally.count(Kind::echo_stream, refused_for_load(answer) || served(answer), describe(answer));
}

void Client::invalid(Tally& tally) {
  const std::string predict = "/v1/models/" + settings_.echo_model + "/predict";
  Answer answer;
  switch (std::uniform_int_distribution<int>(0, 5)(random_)) {
    case 0:
      answer = connection_.exchange(post(predict, R"({"unterminated": )"));
      break;
    case 1:
      answer = connection_.exchange(post("/v1/models/no-such-model/predict", "{}"));
      break;
    case 2: {
      Request request(http::verb::delete_, predict, 11);
      request.set(http::field::host, settings_.host);
      answer = connection_.exchange(request);
      break;
    }
    case 3:  // over --max-body-bytes, refused from Content-Length alone
      answer = connection_.send_raw(
          "POST " + predict + " HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n\r\n{}");
      break;
    case 4:
      answer = connection_.send_raw("\x16\x03\x01 not http at all\r\n\r\n");
      break;
    default:
      answer = connection_.exchange(post("/v1/chat/completions", R"({"messages": []})"));
      break;
  }
  // A 4xx, or (for garbage) a server that just closes; never a 5xx or a hang.
  const bool expected = answer.ok() ? answer.status >= 400 && answer.status < 500
                                    : answer.error.find("end of stream") != std::string::npos;
  tally.count(Kind::invalid, expected, describe(answer));
}

void Client::abandoned(Tally& tally) {
  const std::string predict = "/v1/models/" + settings_.echo_model + "/predict";
  switch (std::uniform_int_distribution<int>(0, 2)(random_)) {
    case 0:  // leaves inside the head
      connection_.send_and_abandon("POST " + predict + " HTTP/1.1\r\nHost: x\r\nContent-Le");
      break;
    case 1:  // leaves inside the body
      connection_.send_and_abandon("POST " + predict +
                                   " HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"a\"");
      break;
    default: {  // leaves once a long stream has begun
      Request request = post(predict, R"({"stream": true, "chunks": 1000, "delay_ms": 2})");
      request.set(http::field::accept, "text/event-stream");
      connection_.exchange(request, ReadPace{0, {}, true});
      break;
    }
  }
  tally.count(Kind::abandoned, true, "");
}

void Client::slow_reader(Tally& tally) {
  Request request =
      post("/v1/models/" + settings_.echo_model + "/predict",
           R"({"stream": true, "chunks": 64, "pad": ")" + std::string(8192, 'p') + "\"}");
  request.set(http::field::accept, "text/event-stream");
  const Answer answer =
      connection_.exchange(request, ReadPace{2048, std::chrono::milliseconds(5), false});
  tally.count(Kind::slow_reader, refused_for_load(answer) || served(answer), describe(answer));
}

void Client::llama_stream(Tally& tally) {
  Request request =
      post("/v1/chat/completions", R"({"model": ")" + *settings_.llama_model +
                                       R"(", "messages": [{"role": "user", "content": "Hi"}],)"
                                       R"( "stream": true, "max_tokens": 16})");
  request.set(http::field::accept, "text/event-stream");
  const Answer answer = connection_.exchange(request);
  const bool complete = answer.body.find("data: [DONE]") != std::string::npos;
  tally.count(Kind::llama_stream, refused_for_load(answer) || (served(answer) && complete),
              describe(answer));
}

}  // namespace mh::soak
