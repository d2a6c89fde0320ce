#include "stream_load.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <thread>

namespace mh::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

double StreamResult::ttft_percentile_ms(double p) const {
  if (ttft_ms.empty()) return 0;
  const double rank = std::ceil(p / 100.0 * static_cast<double>(ttft_ms.size()));
  const auto index = static_cast<std::size_t>(std::max(1.0, rank)) - 1;
  return ttft_ms[std::min(index, ttft_ms.size() - 1)];
}

namespace {

struct StreamOutcome {
  unsigned status = 0;
  std::optional<double> ttft_ms;        // until the first complete event
  std::optional<std::uint64_t> tokens;  // the last event's usage.completion_tokens
};

// The number after the last `"completion_tokens":` in the stream (the closing event's usage).
std::optional<std::uint64_t> completion_tokens(const std::string& body) {
  static const std::string key = "\"completion_tokens\":";
  const auto at = body.rfind(key);
  if (at == std::string::npos) return std::nullopt;
  char* end = nullptr;
  const unsigned long long value = std::strtoull(body.c_str() + at + key.size(), &end, 10);
  if (end == body.c_str() + at + key.size()) return std::nullopt;
  return value;
}

// One keep-alive connection, blocking I/O, as bench_http's: on loopback it is not what limits.
class StreamConnection {
 public:
  explicit StreamConnection(const StreamSettings& settings) : settings_(settings), socket_(io_) {
    request_.method(http::verb::post);
    request_.target(settings.target);
    request_.version(11);
    request_.set(http::field::host, settings.host);
    request_.set(http::field::content_type, "application/json");
    request_.set(http::field::accept, "text/event-stream");
    request_.keep_alive(true);
    request_.body() = settings.body;
    request_.prepare_payload();
  }

  // One stream, to its end. Throws on I/O errors.
  StreamOutcome exchange() {
    if (!socket_.is_open()) connect();
    const auto begin = Clock::now();
    http::write(socket_, request_);
    http::response_parser<http::string_body> parser;
    parser.body_limit(std::uint64_t{64} << 20);
    http::read_header(socket_, buffer_, parser);
    StreamOutcome outcome;
    outcome.status = parser.get().result_int();
    while (!parser.is_done()) {
      http::read_some(socket_, buffer_, parser);
      if (!outcome.ttft_ms && parser.get().body().find("\n\n") != std::string::npos) {
        outcome.ttft_ms = std::chrono::duration<double, std::milli>(Clock::now() - begin).count();
      }
    }
    outcome.tokens = completion_tokens(parser.get().body());
    if (!parser.get().keep_alive()) close();
    return outcome;
  }

  void close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
    buffer_.clear();
  }

 private:
  void connect() {
    tcp::resolver resolver(io_);
    asio::connect(socket_, resolver.resolve(settings_.host, std::to_string(settings_.port)));
    socket_.set_option(tcp::no_delay(true));
  }

  const StreamSettings& settings_;
  asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
};

}  // namespace

StreamResult run_stream_load(const StreamSettings& settings) {
  std::atomic<std::uint64_t> issued{0};
  std::atomic<unsigned> warmed{0};
  std::atomic<bool> measuring{false};
  std::mutex mutex;
  StreamResult result;

  auto worker = [&] {
    StreamConnection connection(settings);
    for (std::uint64_t i = 0; i < settings.warmup; ++i) {
      try {
        connection.exchange();
      } catch (const std::exception&) {
        connection.close();
      }
    }
    ++warmed;
    while (!measuring.load()) std::this_thread::yield();
    StreamResult mine;
    while (issued.fetch_add(1) < settings.requests) {
      std::string problem;
      try {
        const StreamOutcome outcome = connection.exchange();
        if (outcome.status != 200) {
          problem = "HTTP " + std::to_string(outcome.status);
        } else if (!outcome.tokens || !outcome.ttft_ms) {
          problem = "a stream without events or without usage.completion_tokens";
        } else {
          ++mine.ok;
          mine.tokens += *outcome.tokens;
          mine.ttft_ms.push_back(*outcome.ttft_ms);
        }
      } catch (const std::exception& error) {
        problem = error.what();
        connection.close();
      }
      if (!problem.empty()) {
        ++mine.failed;
        if (mine.first_error.empty()) mine.first_error = problem;
      }
    }
    std::lock_guard lock(mutex);
    result.ok += mine.ok;
    result.failed += mine.failed;
    result.tokens += mine.tokens;
    result.ttft_ms.insert(result.ttft_ms.end(), mine.ttft_ms.begin(), mine.ttft_ms.end());
    if (result.first_error.empty()) result.first_error = mine.first_error;
  };

  std::vector<std::thread> threads;
  for (unsigned i = 0; i < settings.connections; ++i) threads.emplace_back(worker);
  while (warmed.load() < settings.connections)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const auto started = Clock::now();
  measuring.store(true);
  for (auto& thread : threads) thread.join();
  result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  std::sort(result.ttft_ms.begin(), result.ttft_ms.end());
  return result;
}

}  // namespace mh::bench
