// What a request asks the sampler for (sampler.hpp): plain values, parsed from a request body
// (request_parsing.hpp) or a model's generation_config.json, held to sampling_limits.hpp. No
// libtorch here, so that the request parser builds (and is fuzzed) without it.
#pragma once

#include <cstdint>
#include <optional>

namespace mh::llama {

struct SamplingParams {
  double temperature = 0.0;         // 0: greedy
  int64_t top_k = 0;                // 0: off
  double top_p = 1.0;               // 1: off
  double min_p = 0.0;               // 0: off
  double repetition_penalty = 1.0;  // over prompt and output, as transformers
  double presence_penalty = 0.0;    // over the output, as OpenAI
  double frequency_penalty = 0.0;
  std::optional<uint64_t> seed;
};

}  // namespace mh::llama
