#include "load_generator.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <thread>

namespace mh::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

double LoadResult::percentile_ms(double p) const {
  if (latencies_ms.empty()) return 0;
  const double rank = std::ceil(p / 100.0 * static_cast<double>(latencies_ms.size()));
  const auto index = static_cast<std::size_t>(std::max(1.0, rank)) - 1;
  return latencies_ms[std::min(index, latencies_ms.size() - 1)];
}

namespace {

// One keep-alive connection, blocking I/O: the simplest client that a server can be measured
// with, and on loopback it is not the bottleneck.
class Connection {
 public:
  explicit Connection(const LoadSettings& settings) : settings_(settings), socket_(io_) {
    request_.method(http::verb::post);
    request_.target(settings.target);
    request_.version(11);
    request_.set(http::field::host, settings.host);
    request_.set(http::field::content_type, "application/json");
    request_.keep_alive(true);
    request_.body() = settings.body;
    request_.prepare_payload();
  }

  // One request; returns the HTTP status, or throws on I/O errors.
  unsigned exchange() {
    if (!socket_.is_open()) connect();
    http::write(socket_, request_);
    http::response<http::string_body> response;
    http::read(socket_, buffer_, response);
    if (!response.keep_alive()) close();
    return response.result_int();
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

  const LoadSettings& settings_;
  asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
};

}  // namespace

LoadResult run_load(const LoadSettings& settings) {
  std::atomic<std::uint64_t> issued{0};
  std::atomic<bool> stop{false};
  std::atomic<unsigned> warmed{0};
  std::mutex mutex;
  LoadResult result;
  std::chrono::steady_clock::time_point started;
  std::atomic<bool> measuring{false};

  auto worker = [&](unsigned index) {
    (void)index;
    Connection connection(settings);
    std::vector<double> latencies;
    std::uint64_t ok = 0, failed = 0;
    std::string error_text;
    for (std::uint64_t i = 0; i < settings.warmup; ++i) {
      try {
        connection.exchange();
      } catch (const std::exception&) {
        connection.close();
      }
    }
    ++warmed;
    while (!measuring.load()) std::this_thread::yield();
    while (!stop.load()) {
      if (settings.requests != 0 && issued.fetch_add(1) >= settings.requests) break;
      const auto begin = std::chrono::steady_clock::now();
      try {
        const unsigned status = connection.exchange();
        const double ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin)
                .count();
        if (status >= 200 && status < 300) {
          ++ok;
          latencies.push_back(ms);
        } else {
          ++failed;
          if (error_text.empty()) error_text = "HTTP " + std::to_string(status);
        }
      } catch (const std::exception& error) {
        ++failed;
        if (error_text.empty()) error_text = error.what();
        connection.close();
      }
    }
    std::lock_guard lock(mutex);
    result.ok += ok;
    result.failed += failed;
    result.latencies_ms.insert(result.latencies_ms.end(), latencies.begin(), latencies.end());
    if (result.first_error.empty()) result.first_error = error_text;
  };

  std::vector<std::thread> threads;
  for (unsigned i = 0; i < settings.connections; ++i) threads.emplace_back(worker, i);
  while (warmed.load() < settings.connections)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  started = std::chrono::steady_clock::now();
  measuring = true;
  if (settings.duration.count() > 0) {
    while (std::chrono::steady_clock::now() - started < settings.duration) {
      if (settings.requests != 0 && issued.load() >= settings.requests) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    stop = true;
  }
  for (auto& thread : threads) thread.join();
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::sort(result.latencies_ms.begin(), result.latencies_ms.end());
  return result;
}

}  // namespace mh::bench
