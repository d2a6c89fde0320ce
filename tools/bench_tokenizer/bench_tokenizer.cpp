// Measures the Llama tokenizer: load time, then encode and decode throughput on a prompt of a
// few thousand tokens, with an empty word cache (first request) and a warm one, on one thread
// and on several at once.
//
//   bench_tokenizer MODEL_DIR [TEXT_FILE] [THREADS]
//
// MODEL_DIR holds tokenizer.json (and optionally tokenizer_config.json). Without TEXT_FILE a
// mixed text (prose, code, numbers, CJK, emoji) is made up.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tokenizer/stream_decoder.hpp"
#include "tokenizer/tokenizer.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string made_up_text() {
  const char* parts[] = {
      "The quick brown fox jumps over the lazy dog. ",
      "It's 2024-06-01 and we've shipped 1,234,567 units at $19.99 each.\n",
      "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n\n",
      "東京は日本の首都です。서울은 한국의 수도입니다. ",
      "Ünïcödé àccents, Ελληνικά, русский текст, العربية. ",
      "Emoji: 🎉👩‍👩‍👧‍👦🚀 and   multiple   spaces\t\ttabs\r\n",
      "https://example.com/path?query=value&other=%20x#frag ",
  };
  std::string text;
  for (int i = 0; text.size() < 24000; ++i) text += parts[(i * 7 + i / 3) % 7];
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL_DIR [TEXT_FILE] [THREADS]\n", argv[0]);
    return 2;
  }
  std::string text = made_up_text();
  if (argc > 2) {
    std::ifstream in(argv[2], std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "cannot read %s\n", argv[2]);
      return 1;
    }
    std::ostringstream content;
    content << in.rdbuf();
    text = content.str();
  }
  const int threads = argc > 3 ? std::max(1, std::atoi(argv[3])) : 4;

  try {
    auto start = Clock::now();
    const auto tokenizer = mh::llama::Tokenizer::from_directory(argv[1]);
    std::printf("load:                  %.1f ms (vocab %zu)\n", seconds_since(start) * 1e3,
                tokenizer.vocab_size());

    start = Clock::now();
    const auto ids = tokenizer.encode(text);
    const double cold = seconds_since(start);
    std::printf("prompt:                %zu bytes, %zu tokens\n", text.size(), ids.size());
    std::printf("encode, cold cache:    %.3f ms (%.2f M tokens/s)\n", cold * 1e3,
                ids.size() / cold / 1e6);

    const int rounds = 50;
    start = Clock::now();
    std::size_t total = 0;
    for (int i = 0; i < rounds; ++i) total += tokenizer.encode(text).size();
    const double warm = seconds_since(start) / rounds;
    std::printf("encode, warm cache:    %.3f ms (%.2f M tokens/s)\n", warm * 1e3,
                total / rounds / warm / 1e6);

    start = Clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&] {
        for (int i = 0; i < rounds; ++i) (void)tokenizer.encode(text);
      });
    }
    for (auto& thread : pool) thread.join();
    const double parallel = seconds_since(start);
    std::printf("encode, %d threads:     %.2f M tokens/s in all\n", threads,
                double(ids.size()) * rounds * threads / parallel / 1e6);

    start = Clock::now();
    std::size_t chars = 0;
    for (int i = 0; i < rounds; ++i) chars += tokenizer.decode(ids).size();
    const double decode = seconds_since(start) / rounds;
    std::printf("decode:                %.3f ms (%.2f M tokens/s)\n", decode * 1e3,
                ids.size() / decode / 1e6);

    start = Clock::now();
    for (int i = 0; i < rounds; ++i) {
      mh::llama::StreamDecoder stream(tokenizer);
      for (auto id : ids) chars += stream.push(id).size();
      chars += stream.finish().size();
    }
    const double streamed = seconds_since(start) / rounds;
    std::printf("stream decode:         %.3f ms (%.2f M tokens/s)\n", streamed * 1e3,
                ids.size() / streamed / 1e6);
    return chars > 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
