// GPT-2's byte-to-unicode map, which byte-level BPE vocabularies are written in.
//
// Every byte 0..255 stands for one printable code point (printable Latin-1 bytes for
// themselves, the others shifted to U+0100..U+0143), so a vocabulary entry such as "Ġthe" is
// the bytes " the". The tokenizer works on raw bytes throughout and uses this map only to read
// the vocabulary and merges of tokenizer.json.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mh::llama::byte_level {

// The code point that stands for `byte`.
char32_t char_of_byte(unsigned char byte);

// The raw bytes a byte-level string stands for, or nullopt when `text` holds a code point
// outside the map (for example an added token such as "<|eot_id|>" is mapped, "€" is not)
// or is not valid UTF-8.
std::optional<std::string> to_bytes(std::string_view text);

// The byte-level spelling of raw bytes (the inverse of to_bytes).
std::string from_bytes(std::string_view bytes);

}  // namespace mh::llama::byte_level
