#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/pre_tokenizer.hpp"

#include <pcre2.h>

#include <string>

#include "tokenizer/oniguruma_pattern.hpp"

namespace mh::llama {
namespace {

// GPT-2's pattern, which a ByteLevel pre-tokenizer with use_regex applies.
constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  if (pcre2_get_error_message(code, buffer, sizeof buffer) < 0) {
    return "PCRE2 error " + std::to_string(code);
  }
  return reinterpret_cast<const char*>(buffer);
}

struct MatchDataDeleter {
  void operator()(pcre2_match_data* m) const { pcre2_match_data_free(m); }
};

}  // namespace

struct PreTokenizer::Op {
  enum class Kind { kPrefixSpace, kSplit } kind = Kind::kSplit;
  PreTokenizerStep::Behavior behavior = PreTokenizerStep::Behavior::kIsolated;
  pcre2_code* code = nullptr;
  bool jit = false;

  Op() = default;
  Op(const Op&) = delete;
  Op& operator=(const Op&) = delete;
  ~Op() { pcre2_code_free(code); }
};

PreTokenizer::PreTokenizer(const std::vector<PreTokenizerStep>& steps, std::string_view source) {
  auto add_split = [&](std::string_view pattern, bool is_regex, PreTokenizerStep::Behavior behavior,
                       const std::string& where) {
    auto op = std::make_unique<Op>();
    op->kind = Op::Kind::kSplit;
    op->behavior = behavior;
    int error = 0;
    PCRE2_SIZE offset = 0;
    const uint32_t options = PCRE2_UTF | PCRE2_UCP | (is_regex ? 0 : PCRE2_LITERAL);
    auto compile = [&](std::string_view text) {
      return pcre2_compile(reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), options, &error,
                           &offset, nullptr);
    };
    const std::string translated =
        is_regex ? translate_oniguruma_pattern(pattern) : std::string(pattern);
    op->code = compile(translated);
    if (op->code == nullptr) {
      // Report the error against the pattern as written in the file.
      if (pcre2_code* original = compile(pattern)) {
        pcre2_code_free(original);
        throw TokenizerError(std::string(source) + ": " + where +
                             " pattern does not compile once its Unicode classes are "
                             "rewritten for PCRE2 (" +
                             pcre2_message(error) + ")");
      }
      throw TokenizerError(std::string(source) + ": " + where + " pattern does not compile (" +
                           pcre2_message(error) + " at offset " + std::to_string(offset) + ")");
    }
    // Without JIT (not built in, or refused) the interpreter gives the same matches.
    op->jit = pcre2_jit_compile(op->code, PCRE2_JIT_COMPLETE) == 0;
    ops_.push_back(std::move(op));
  };

  for (std::size_t i = 0; i < steps.size(); ++i) {
    const PreTokenizerStep& step = steps[i];
    const std::string where = "pre_tokenizer step " + std::to_string(i);
    if (step.kind == PreTokenizerStep::Kind::kSplit) {
      add_split(step.pattern, step.pattern_is_regex, step.behavior, where + " (Split)");
    } else {
      if (step.add_prefix_space) {
        auto op = std::make_unique<Op>();
        op->kind = Op::Kind::kPrefixSpace;
        ops_.push_back(std::move(op));
      }
      if (step.use_regex) {
        add_split(kGpt2Pattern, true, PreTokenizerStep::Behavior::kIsolated,
                  where + " (ByteLevel)");
      }
    }
  }
}

PreTokenizer::~PreTokenizer() = default;
PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;

void PreTokenizer::split(std::string_view text, PieceSink sink) const {
  if (text.empty()) return;
  run(0, text, sink);
}

void PreTokenizer::run(std::size_t index, std::string_view text, PieceSink sink) const {
  if (index == ops_.size()) {
    sink(text);
    return;
  }
  const Op& op = *ops_[index];
  if (op.kind == Op::Kind::kPrefixSpace) {
    if (text.front() == ' ') {
      run(index + 1, text, sink);
    } else {
      std::string spaced;
      spaced.reserve(text.size() + 1);
      spaced.push_back(' ');
      spaced.append(text);
      run(index + 1, spaced, sink);
    }
    return;
  }

  std::unique_ptr<pcre2_match_data, MatchDataDeleter> match(
      pcre2_match_data_create_from_pattern(op.code, nullptr));
  if (!match) throw std::bad_alloc();
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  const bool keep_gaps = true;  // both behaviors keep the text between matches
  const bool keep_matches = op.behavior == PreTokenizerStep::Behavior::kIsolated;

  auto emit = [&](std::size_t begin, std::size_t end) {
    if (end > begin) run(index + 1, text.substr(begin, end - begin), sink);
  };

  std::size_t position = 0;  // where the next search starts
  std::size_t emitted = 0;   // end of what was already handed on
  while (position < text.size()) {
    // The caller validated the UTF-8 once for the whole text.
    int rc = pcre2_match(op.code, subject, text.size(), position, PCRE2_NO_UTF_CHECK, match.get(),
                         nullptr);
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH && op.jit) {
      // The JIT ran out of its stack (a very long run of whitespace makes `\s+(?!\S)`
      // backtrack far): the interpreter keeps its frames on the heap. No per-thread JIT stack
      // is kept, so nothing thread-local pins this library after the plugin is unloaded.
      rc = pcre2_match(op.code, subject, text.size(), position, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT,
                       match.get(), nullptr);
    }
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      throw TokenizerError("pre-tokenizer regex failed on a text of " +
                           std::to_string(text.size()) + " bytes: " + pcre2_message(rc));
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.get());
    const std::size_t begin = ovector[0];
    const std::size_t end = ovector[1];
    if (end == begin) {
      // An empty match splits nothing; step over one character, as tokenizers does.
      position = begin + 1;
      while (position < text.size() &&
             (static_cast<unsigned char>(text[position]) & 0xC0) == 0x80) {
        ++position;
      }
      continue;
    }
    if (keep_gaps) emit(emitted, begin);
    if (keep_matches) emit(begin, end);
    emitted = end;
    position = end;
  }
  emit(emitted, text.size());
}

}  // namespace mh::llama
