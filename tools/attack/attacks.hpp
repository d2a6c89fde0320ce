#pragma once
// Issue 10's attacks on hostd's HTTP layer, each run for a bounded time with a bounded number
// of connections, each returning one line of what it saw (replies, closes, bytes).
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <string>

namespace mh::attack {

struct AttackSettings {
  boost::asio::ip::tcp::endpoint target;
  std::chrono::seconds duration{5};
  std::size_t connections = 1200;  // for the idle-connection and slowloris attacks
  std::string model = "echo";
};

// Connections that send one endless chunk extension, re-made when hostd closes them.
std::string chunk_extension_flood(const AttackSettings& settings);
// Clients that ask for a long, fast stream and never read it.
std::string non_reading_streams(const AttackSettings& settings);
// Many connections that announce a 1 MiB body (no API key) and then send nothing.
std::string idle_unauthenticated(const AttackSettings& settings);
// Many connections that send a head one byte per second and never finish it.
std::string slowloris_heads(const AttackSettings& settings);
// Requests with a Transfer-Encoding other than chunked followed by a smuggled second request.
std::string smuggling(const AttackSettings& settings);

}  // namespace mh::attack
