// The ranges sampling values are held to, from a request (request_parsing.cpp) or from the
// model's generation_config.json (model_config.cpp). Within them the sampler's float32
// arithmetic keeps finite model scores finite: one request's values can never turn its scores
// into NaN or infinity (the sampler still guards each row; see Sampler::kNoToken).
// docs/llama-request-schema.md lists them.
#pragma once

#include <cstddef>

namespace mh::llama::limits {

// OpenAI's range for a request's "temperature"; generation_config.json only needs >= 0.
inline constexpr double kMaxTemperature = 2.0;
// A positive temperature below this samples as greedy (0): dividing float32 scores by it
// would overflow (1e-320 is 0 in float32), and sampling at it is argmax for any real model.
inline constexpr double kGreedyBelowTemperature = 1e-3;
// transformers' repetition_penalty divides or multiplies scores by it.
inline constexpr double kMinRepetitionPenalty = 0.01;
inline constexpr double kMaxRepetitionPenalty = 100.0;
// OpenAI's range for presence_penalty and frequency_penalty: [-2, 2].
inline constexpr double kMaxOpenAiPenalty = 2.0;
// Stop strings are matched against the text held back after every token: bounded work.
inline constexpr std::size_t kMaxStopStrings = 16;
inline constexpr std::size_t kMaxStopBytes = 256;

// The temperature to sample with: tiny positive values are greedy.
constexpr double effective_temperature(double temperature) {
  return temperature < kGreedyBelowTemperature ? 0.0 : temperature;
}

}  // namespace mh::llama::limits
