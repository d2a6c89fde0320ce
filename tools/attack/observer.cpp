#include "observer.hpp"

#include <signal.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

namespace mh::attack {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Clock = std::chrono::steady_clock;

ProcessSample sample_process(pid_t pid) {
  ProcessSample sample;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) sample.rss_mib = std::stod(line.substr(6)) / 1024.0;
  }
  std::error_code error;
  int fds = 0;
  for (std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", error), end;
       !error && it != end; it.increment(error)) {
    ++fds;
  }
  sample.fds = error ? -1 : fds;
  return sample;
}

bool process_alive(pid_t pid) {
  if (::kill(pid, 0) != 0) return false;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("State:", 0) == 0) return line.find('Z') == std::string::npos;
  }
  return false;
}

HostLimits read_limits(pid_t pid, std::uint64_t streams) {
  HostLimits limits;
  limits.streams = streams;
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::vector<std::string> args;
  for (std::string arg; std::getline(in, arg, '\0');) args.push_back(arg);
  auto value = [&](std::string_view flag) -> std::optional<std::uint64_t> {
    for (std::size_t i = 0; i < args.size(); ++i) {
      if (args[i] == flag && i + 1 < args.size()) return std::stoull(args[i + 1]);
      if (args[i].rfind(std::string(flag) + "=", 0) == 0) {
        return std::stoull(args[i].substr(flag.size() + 1));
      }
    }
    return std::nullopt;
  };
  limits.max_connections = value("--max-connections").value_or(limits.max_connections);
  limits.max_header_bytes = value("--max-header-bytes").value_or(limits.max_header_bytes);
  limits.max_body_bytes = value("--max-body-bytes").value_or(limits.max_body_bytes);
  limits.max_concurrent_bodies =
      value("--max-concurrent-bodies").value_or(limits.max_concurrent_bodies);
  limits.max_stream_buffer_bytes =
      value("--max-stream-buffer-bytes").value_or(limits.max_stream_buffer_bytes);
  return limits;
}

double rss_bound_mib(const HostLimits& limits, double base_mib, std::string* formula) {
  constexpr double kMiB = 1024.0 * 1024.0;
  // Per connection (docs/limits.md): the read buffer (max head + 4 KiB), the parsed head (Beast
  // keeps each field in a node of ~80 bytes: a head of 4-byte fields takes up to 20 times its
  // size), the write buffer kept between replies (16 KiB), and the connection itself (socket,
  // strand, parser, timers: ~4 KiB).
  // Plus a small body (up to 64 KiB needs no --max-concurrent-bodies slot).
  const double per_connection = 21.0 * limits.max_header_bytes + 4096 + 16384 + 4096 + 65536;
  const double connections = static_cast<double>(limits.max_connections + 64);  // + admin socket
  const double bodies = static_cast<double>(limits.max_concurrent_bodies) * limits.max_body_bytes;
  // A stream's unsent bytes, counted twice: the write buffer is copied together from the queue
  // while the queue refills, plus its last events.
  const double stream_bytes = 2.0 * limits.max_stream_buffer_bytes + 64 * 1024;
  const double streams = static_cast<double>(limits.streams) * stream_bytes;
  const double bound = base_mib + (connections * per_connection + bodies + streams) / kMiB;
  if (formula != nullptr) {
    char text[512];
    std::snprintf(text, sizeof text,
                  "%.0f MiB base + %.0f connections x %.0f KiB + %llu bodies x %.2f MiB + %llu "
                  "streams x %.2f MiB = %.0f MiB",
                  base_mib, connections, per_connection / 1024.0,
                  static_cast<unsigned long long>(limits.max_concurrent_bodies),
                  limits.max_body_bytes / kMiB, static_cast<unsigned long long>(limits.streams),
                  stream_bytes / kMiB, bound);
    *formula = text;
  }
  return bound;
}

ProcessWatch::ProcessWatch(pid_t pid) : pid_(pid), start_(sample_process(pid)), peak_(start_) {
  thread_ = std::thread([this] {
    while (!stop_.load()) {
      const ProcessSample now = sample_process(pid_);
      {
        std::lock_guard lock(mutex_);
        peak_.rss_mib = std::max(peak_.rss_mib, now.rss_mib);
        peak_.fds = std::max(peak_.fds, now.fds);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
}

ProcessWatch::~ProcessWatch() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

ProcessSample ProcessWatch::peak() const {
  std::lock_guard lock(mutex_);
  return peak_;
}

ProcessSample ProcessWatch::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  return sample_process(pid_);
}

NormalClient::NormalClient(asio::ip::tcp::endpoint target, std::string model, std::string api_key)
    : target_(target), model_(std::move(model)), api_key_(std::move(api_key)) {
  thread_ = std::thread([this] { run(); });
}

NormalClient::~NormalClient() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void NormalClient::run() {
  asio::io_context io;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  while (!stop_.load()) {
    const auto started = Clock::now();
    bool ok = false;
    std::string failure;
    try {
      if (!stream) {
        stream.emplace(io);
        stream->expires_after(std::chrono::seconds(2));
        bool connected = false;
        stream->async_connect(target_, [&](beast::error_code error) { connected = !error; });
        io.restart();
        io.run();
        if (!connected) throw std::runtime_error("connect");
        buffer.clear();
      }
      http::request<http::string_body> request{http::verb::post,
                                               "/v1/models/" + model_ + "/predict", 11};
      request.set(http::field::host, "127.0.0.1");
      request.set(http::field::content_type, "application/json");
      if (!api_key_.empty()) request.set(http::field::authorization, "Bearer " + api_key_);
      request.body() = R"({"normal": true})";
      request.prepare_payload();
      http::response<http::string_body> response;
      bool done = false;
      stream->expires_after(std::chrono::seconds(2));
      http::async_write(*stream, request, [&](beast::error_code error, std::size_t) {
        if (error) return;
        http::async_read(*stream, buffer, response,
                         [&](beast::error_code read_error, std::size_t) { done = !read_error; });
      });
      io.restart();
      io.run();
      ok = done && response.result_int() == 200;
      if (!done) {
        failure = "no reply within 2 s";
      } else if (!ok) {
        failure = "status " + std::to_string(response.result_int()) + ": " + response.body();
      }
      if (!done || !response.keep_alive()) stream.reset();
    } catch (const std::exception& error) {
      failure = error.what();
      stream.reset();
    }
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    if (ok) {
      latencies_ms_.push_back(ms);
    } else {
      if (failed_++ == 0) first_failure_ = failure.substr(0, 160);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

NormalClient::Figures NormalClient::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  Figures figures;
  figures.ok = latencies_ms_.size();
  figures.failed = failed_;
  figures.first_failure = first_failure_;
  if (!latencies_ms_.empty()) {
    std::sort(latencies_ms_.begin(), latencies_ms_.end());
    figures.p50_ms = latencies_ms_[latencies_ms_.size() / 2];
    figures.max_ms = latencies_ms_.back();
  }
  return figures;
}

}  // namespace mh::attack
