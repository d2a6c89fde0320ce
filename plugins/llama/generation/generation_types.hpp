// What a generation request asks for and how its results go back: plain structs and two small
// interfaces, so the scheduler knows nothing of JSON, HTTP or the plugin ABI.
#pragma once

#include "sampling_params.hpp"

#include <modelhost/plugin.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mh::llama {

struct GenerationOptions {
  int64_t max_new_tokens = 256;
  SamplingParams sampling;
  std::vector<std::string> stop;  // stop strings
  bool ignore_eos = false;        // generate through EOS tokens (benchmarks, tests)
};

struct GenerationResult {
  mh_status status = MH_OK;     // MH_OK, or why generation ended early (cancelled, deadline, ...)
  std::string message;          // for a status other than MH_OK
  std::string text;             // everything emitted, without the stop string or EOS
  std::vector<int64_t> tokens;  // the generated ids, the EOS that ended it included
  std::string finish_reason;    // "stop" (EOS or stop string) or "length"
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
};

// Where one sequence's results go. Called on the scheduler thread only.
class GenerationSink {
 public:
  virtual ~GenerationSink() = default;
  // MH_OK while the client waits; MH_CANCELLED or MH_DEADLINE_EXCEEDED to stop at once.
  virtual mh_status cancellation() = 0;
  // A piece of text that is final: whole UTF-8 characters, never part of a stop string.
  // Returns MH_OK when it went out (or was kept, for a reply that is not streamed).
  // MH_CANCELLED / MH_DEADLINE_EXCEEDED: the client is gone; the scheduler stops at its next
  // cancellation() check, as for a client that went away between pieces. Any other status
  // ends the sequence at once with that status — MH_RESOURCE_EXHAUSTED: the host did not send
  // the piece because the client is not reading the stream (mh_response.write).
  virtual mh_status on_text(std::string_view text) = 0;
  // The end, exactly once.
  virtual void on_finish(GenerationResult result) = 0;
};

// Turns a sequence's tokens into text as they come, holding back incomplete UTF-8.
class TokenTextStream {
 public:
  virtual ~TokenTextStream() = default;
  virtual std::string push(int64_t token) = 0;
  virtual std::string flush() = 0;
};

using TextStreamFactory = std::function<std::unique_ptr<TokenTextStream>()>;
using LogFunction = std::function<void(mh_log_level, const std::string&)>;

}  // namespace mh::llama
