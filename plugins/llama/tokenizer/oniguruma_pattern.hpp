// tokenizers runs Split patterns on Oniguruma (Unicode 16 tables in tokenizers 0.23); this
// tokenizer runs them on the system's PCRE2 (Debian 12's 10.42 has Unicode 14 tables, and
// counts U+180E MONGOLIAN VOWEL SEPARATOR as `\s`, which Unicode dropped from White_Space in
// 6.3). translate_oniguruma_pattern rewrites the classes whose meaning differs so that PCRE2
// matches exactly what Oniguruma does:
//   \p{L}, \pL   letters: PCRE2's property plus the letters added in Unicode 15.0-16.0
//   \p{N}, \pN   numbers: likewise
//   \P{L}, \P{N}, \p{^L}, \p{^N}  their complements (outside brackets)
//   \s, \S       Unicode White_Space exactly, and its complement (\S outside brackets)
// Everything else is copied as is. The additions were measured, not guessed: every code point
// was run through tokenizers' own Split(Regex(...)) on the GPU machine and compared with
// PCRE2 10.42 here; the two differ in nothing else for these classes. With a newer PCRE2 the
// additions are already in its property and the union changes nothing.
#pragma once

#include <string>
#include <string_view>

namespace mh::llama {

std::string translate_oniguruma_pattern(std::string_view pattern);

}  // namespace mh::llama
