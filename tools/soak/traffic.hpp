#pragma once
// The mixed load of the soak: each client thread draws one kind of exchange after another, and
// every answer is checked against what hostd must say to it. A Tally counts them per kind.
#include "soak_client.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <string>

namespace mh::soak {

enum class Kind {
  echo_predict,  // a valid request: 200
  echo_stream,   // a valid SSE stream, read whole: 200
  invalid,       // malformed JSON, unknown model, wrong method, too large, garbage: 4xx
  abandoned,     // a client that leaves mid-request or mid-stream: no answer expected
  slow_reader,   // a long stream read a few bytes at a time: 200, whole
  llama_stream,  // an OpenAI chat stream from the Llama model (when one is named): 200
};
constexpr std::size_t kKinds = 6;
const char* to_string(Kind kind);

struct TrafficSettings {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  std::string echo_model = "echo";
  std::optional<std::string> llama_model;  // absent: no Llama streams
  std::chrono::milliseconds timeout{30000};
};

class Tally {
 public:
  void count(Kind kind, bool expected, const std::string& what);
  std::uint64_t total(Kind kind) const;
  std::uint64_t unexpected(Kind kind) const;
  std::uint64_t unexpected_total() const;
  // The first few unexpected answers, one per line.
  std::string examples() const;

 private:
  std::array<std::atomic<std::uint64_t>, kKinds> total_{};
  std::array<std::atomic<std::uint64_t>, kKinds> unexpected_{};
  mutable std::mutex mutex_;
  std::string examples_;
  unsigned example_count_ = 0;
};

// One client: a keep-alive connection and its own random stream.
class Client {
 public:
  Client(const TrafficSettings& settings, unsigned seed);
  // Draws a kind and runs one exchange of it.
  void run_one(Tally& tally);

 private:
  void echo_predict(Tally& tally);
  void echo_stream(Tally& tally);
  void invalid(Tally& tally);
  void abandoned(Tally& tally);
  void slow_reader(Tally& tally);
  void llama_stream(Tally& tally);
  Request post(const std::string& target, std::string body) const;

  const TrafficSettings& settings_;
  std::mt19937 random_;
  Connection connection_;
};

}  // namespace mh::soak
