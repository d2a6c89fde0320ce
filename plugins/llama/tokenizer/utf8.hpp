// UTF-8 checks and the lossy conversion Hugging Face applies when bytes become text.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace mh::llama::utf8 {

// The byte offset of the first ill-formed sequence, or nullopt when `text` is valid UTF-8.
std::optional<std::size_t> first_invalid(std::string_view bytes);

// Appends `bytes` to `out` as Rust's String::from_utf8_lossy does (what tokenizers' decoders
// use): each maximal ill-formed subsequence becomes one U+FFFD.
//
// With `final` false, a well-formed but unfinished sequence at the very end is not replaced but
// left over; the return value is the number of bytes consumed (the rest is that unfinished
// tail, at most 3 bytes). With `final` true everything is consumed. Feeding a byte stream in
// pieces, carrying the tail over, gives exactly the text of one lossy call on the whole stream.
std::size_t append_lossy(std::string& out, std::string_view bytes, bool final);

// Appends the UTF-8 encoding of `code_point` (which must be a Unicode scalar value).
void append_code_point(std::string& out, char32_t code_point);

}  // namespace mh::llama::utf8
