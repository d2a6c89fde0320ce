#include "sse_parser.hpp"

#include <doctest/doctest.h>

using namespace hostctl;

TEST_SUITE("format") {
  TEST_CASE("SseParser: events end at a blank line, whatever the pieces") {
    const std::string stream =
        ": keep-alive\n"
        "data: {\"token\": \"Hel\"}\n\n"
        "event: update\r\ndata: a\r\ndata: b\r\n\r\n"
        "data:no-space\r\r"
        "data: [DONE]\n\n";
    for (std::size_t step : {stream.size(), std::size_t{1}, std::size_t{2}, std::size_t{7}}) {
      CAPTURE(step);
      SseParser parser;
      std::vector<SseEvent> events;
      for (std::size_t at = 0; at < stream.size(); at += step) {
        for (auto& event : parser.feed(std::string_view(stream).substr(at, step)))
          events.push_back(std::move(event));
      }
      CHECK(parser.finish().empty());
      REQUIRE(events.size() == 4);
      CHECK(events[0].event == "message");
      CHECK(events[0].data == "{\"token\": \"Hel\"}");
      CHECK(events[1].event == "update");
      CHECK(events[1].data == "a\nb");
      CHECK(events[2].data == "no-space");
      CHECK(events[3].data == "[DONE]");
    }
  }

  TEST_CASE("SseParser: a last event without its blank line comes out of finish()") {
    SseParser parser;
    CHECK(parser.feed("data: one\n\ndata: two").size() == 1);
    auto rest = parser.finish();
    REQUIRE(rest.size() == 1);
    CHECK(rest[0].data == "two");
  }

  TEST_CASE("SseParser: an event with no data is not dispatched") {
    SseParser parser;
    CHECK(parser.feed("event: ping\n\n").empty());
    CHECK(parser.feed("id: 3\nretry: 10\n\n").empty());
  }
}
