// Stop strings found across pieces; held-back text never shows part of a stop string.
#include "stop_strings.hpp"

#include <doctest/doctest.h>

namespace mh::llama {
namespace {

TEST_CASE("stop_strings.across_pieces") {
  StopStringMatcher m({"STOP", "\n\n"});
  std::string shown;
  shown += m.push("Hello S");
  CHECK(shown == "Hello ");  // "S" could begin "STOP"
  shown += m.push("T");
  CHECK(shown == "Hello ");
  shown += m.push("ar");  // "STar" is not a stop string: released
  CHECK(shown == "Hello STar");
  shown += m.push(" ST");
  shown += m.push("OP and more");
  CHECK(m.stopped());
  CHECK(shown == "Hello STar ");
  CHECK(m.push("later").empty());
  CHECK(m.flush().empty());
}

TEST_CASE("stop_strings.flush_releases_held_text") {
  StopStringMatcher m({"<end>"});
  CHECK(m.push("abc<en") == "abc");
  CHECK_FALSE(m.stopped());
  CHECK(m.flush() == "<en");
}

TEST_CASE("stop_strings.earliest_wins_and_utf8") {
  StopStringMatcher m({"world", "lo w"});
  CHECK(m.push("hello world") == "hel");
  CHECK(m.stopped());
  StopStringMatcher u({"\xC3\xA9t\xC3\xA9"});  // "été"
  CHECK(u.push("caf\xC3\xA9") == "caf");       // "é" might begin "été"
  CHECK(u.push("!") == "\xC3\xA9!");
}

TEST_CASE("stop_strings.none") {
  StopStringMatcher m({});
  CHECK(m.push("anything") == "anything");
  CHECK(m.flush().empty());
}

}  // namespace
}  // namespace mh::llama
