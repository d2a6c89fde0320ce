// The hostd <-> runner frame codec (host/isolation): frames and messages survive a round trip
// whatever way the bytes arrive, and every malformed, oversized or truncated input is refused
// with a FrameError that says what is wrong — never a read past the end, never a huge buffer.
#include <doctest/doctest.h>

#include "isolation/frame.hpp"
#include "isolation/frame_fields.hpp"
#include "isolation/messages.hpp"

#include <string>

using namespace mh::isolation;

namespace {

std::string error_of(auto&& action) {
  try {
    action();
  } catch (const FrameError& error) {
    return error.what();
  }
  return "";
}

// Decodes every frame in `bytes`, fed `step` bytes at a time.
std::vector<Frame> decode_all(const std::string& bytes, std::size_t step,
                              std::size_t limit = kDefaultMaxFramePayload) {
  FrameDecoder decoder(limit);
  std::vector<Frame> frames;
  for (std::size_t at = 0; at < bytes.size(); at += step) {
    decoder.feed(bytes.data() + at, std::min(step, bytes.size() - at));
    while (auto frame = decoder.next()) frames.push_back(std::move(*frame));
  }
  decoder.finish();
  return frames;
}

}  // namespace

TEST_CASE("frames round-trip whole, byte by byte, and several to a read") {
  const std::string binary("a\0b\xff\n", 5);
  const std::string bytes = encode_frame(FrameType::write, binary) +
                            encode_frame(FrameType::cleanup_done, "") +
                            encode_frame(FrameType::log, std::string(100000, 'x'));
  for (std::size_t step : {std::size_t{1}, std::size_t{7}, bytes.size()}) {
    const auto frames = decode_all(bytes, step);
    REQUIRE(frames.size() == 3);
    CHECK(frames[0].type == FrameType::write);
    CHECK(frames[0].payload == binary);
    CHECK(frames[1].type == FrameType::cleanup_done);
    CHECK(frames[1].payload.empty());
    CHECK(frames[2].payload.size() == 100000);
  }
}

TEST_CASE("the header is little-endian size, type, marker") {
  const std::string bytes = encode_frame(FrameType::predict, "abc");
  REQUIRE(bytes.size() == kFrameHeaderBytes + 3);
  CHECK(bytes.substr(0, 8) == std::string("\x03\x00\x00\x00\x03\x00\x4d\x48", 8));
}

TEST_CASE("an oversized frame is refused from its header, before its payload arrives") {
  std::string header = encode_frame(FrameType::finish, std::string(2000, 'y')).substr(0, 8);
  FrameDecoder decoder(1024);
  decoder.feed(header.data(), header.size());
  const std::string error = error_of([&] { decoder.next(); });
  CHECK(error == "frame too large: a finish frame of 2000 bytes exceeds the limit of 1024 bytes");
  // The stream is out of step now: the decoder refuses to go on.
  CHECK(error_of([&] { decoder.next(); }).find("out of step") != std::string::npos);

  CHECK(error_of([] { encode_frame(FrameType::write, std::string(11, 'z'), 10); }) ==
        "frame too large: a write frame of 11 bytes exceeds the limit of 10 bytes");
}

TEST_CASE("malformed headers: a wrong marker, an unknown type") {
  std::string wrong_marker = encode_frame(FrameType::log, "hello");
  wrong_marker[7] = 'X';
  CHECK(error_of([&] { decode_all(wrong_marker, 64); }).find("bad header marker 0x584d") !=
        std::string::npos);

  std::string unknown = encode_frame(FrameType::log, "hello");
  unknown[4] = 99;
  CHECK(error_of([&] { decode_all(unknown, 64); }) == "malformed frame: unknown frame type 99");

  const std::string garbage = "GET / HTTP/1.1\r\n\r\n";
  CHECK(!error_of([&] { decode_all(garbage, 64); }).empty());
}

TEST_CASE("a stream that ends inside a frame is truncated, one that ends between frames is not") {
  const std::string frame = encode_frame(FrameType::predict, std::string(50, 'p'));
  CHECK(error_of([&] { decode_all(frame.substr(0, 5), 5); }) ==
        "truncated frame: the stream ended inside a frame header (5 of 8 bytes)");
  CHECK(error_of([&] { decode_all(frame.substr(0, 20), 3); }) ==
        "truncated frame: the stream ended inside a frame (20 of 58 bytes)");
  CHECK(error_of([&] { decode_all(frame + frame, 9); }).empty());
}

TEST_CASE("payload fields are bounds-checked and name the field that is cut off") {
  PredictMessage message;
  message.call = 7;
  message.id = "req-1";
  message.route = "predict";
  message.body = R"({"x": 1})";
  Frame frame = message.encode();

  Frame cut = frame;
  cut.payload.resize(cut.payload.size() - 12);  // into the body
  CHECK(error_of([&] { PredictMessage::decode(cut); }) ==
        "malformed predict frame: field 'body' needs 8 bytes, 5 left");

  Frame longer = frame;
  longer.payload += "zz";
  CHECK(error_of([&] { PredictMessage::decode(longer); }) ==
        "malformed predict frame: 2 unexpected bytes after the last field");

  // A length prefix that claims more than there is never reads past the end.
  PayloadWriter writer;
  writer.u32(0xFFFFFFFF);
  const std::string lying = std::move(writer).take();
  PayloadReader reader(FrameType::log, lying);
  CHECK(error_of([&] { reader.bytes("message"); }) ==
        "malformed log frame: field 'message' needs 4294967295 bytes, 0 left");

  CHECK(error_of([&] { FinishMessage::decode(frame); }) ==
        "unexpected frame: wanted finish, got predict");
}

TEST_CASE("every message round-trips") {
  LoadMessage load;
  load.plugin_path = "/cache/.plugins/ab12.so";
  load.shown_path = "/models/echo/libmh_echo.so";
  load.model = "echo#3";
  load.address_space_bytes = std::uint64_t{8} << 30;
  load.core_dumps = true;
  load.cpus = {0, 3, 5};
  load.max_frame_payload = 4096;
  const LoadMessage load_back = LoadMessage::decode(load.encode());
  CHECK(load_back.protocol_version == kProtocolVersion);
  CHECK(load_back.plugin_path == load.plugin_path);
  CHECK(load_back.shown_path == load.shown_path);
  CHECK(load_back.model == load.model);
  CHECK(load_back.address_space_bytes == load.address_space_bytes);
  CHECK(load_back.core_dumps);
  CHECK(load_back.cpus == load.cpus);
  CHECK(load_back.max_frame_payload == 4096);

  PredictMessage predict;
  predict.call = 1ull << 40;
  predict.id = "req-9";
  predict.route = MH_ROUTE_CHAT_COMPLETIONS;
  predict.body = std::string("{\"a\":\"\0\"}", 9);
  predict.stream = true;
  predict.deadline_unix_ms = -5;
  const PredictMessage predict_back = PredictMessage::decode(predict.encode());
  CHECK(predict_back.call == predict.call);
  CHECK(predict_back.route == predict.route);
  CHECK(predict_back.body == predict.body);
  CHECK(predict_back.stream);
  CHECK(predict_back.deadline_unix_ms == -5);

  FinishMessage finish;
  finish.call = 3;
  finish.status = MH_DEADLINE_EXCEEDED;
  finish.body = "late";
  const FinishMessage finish_back = FinishMessage::decode(finish.encode());
  CHECK(finish_back.status == MH_DEADLINE_EXCEEDED);
  CHECK(finish_back.body == "late");

  StatsReplyMessage stats;
  stats.seq = 4;
  stats.writes = 2;
  stats.json = R"({"tokens":5})";
  const StatsReplyMessage stats_back = StatsReplyMessage::decode(stats.encode());
  CHECK(stats_back.writes == 2);
  CHECK(stats_back.json == stats.json);

  CHECK(CancelMessage::decode(CancelMessage{9, MH_CANCELLED}.encode()).call == 9);
  CHECK(InitDoneMessage::decode(InitDoneMessage{MH_INTERNAL, "no"}.encode()).message == "no");
}

TEST_CASE("values a newer peer may send are mapped, nonsense is refused") {
  PayloadWriter writer;
  writer.u64(1).u32(4000).bytes("x");
  Frame frame{FrameType::finish, std::move(writer).take()};
  CHECK(FinishMessage::decode(frame).status == MH_INTERNAL);  // an unknown status code

  CHECK(error_of([] {
          CancelMessage::decode(CancelMessage{1, MH_OK}.encode());
        }) == "malformed cancel frame: status MH_OK");

  PayloadWriter many;
  many.u32(kProtocolVersion).bytes("a").bytes("b").bytes("c").u64(0).u8(0).u32(1u << 30);
  CHECK(error_of([&] {
          LoadMessage::decode(Frame{FrameType::load, std::move(many).take()});
        }).find("CPUs") != std::string::npos);
}
