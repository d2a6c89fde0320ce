#include "isolation/messages.hpp"

#include "isolation/frame_fields.hpp"

namespace mh::isolation {

namespace {

// Upper bound on the CPU list of a load frame (Linux's CPU_SETSIZE).
constexpr std::uint32_t kMaxCpus = 1024;

PayloadReader reader_for(const Frame& frame, FrameType expected) {
  if (frame.type != expected) {
    throw FrameError("unexpected frame: wanted " + std::string(frame_type_name(expected)) +
                     ", got " + std::string(frame_type_name(frame.type)));
  }
  return PayloadReader(frame.type, frame.payload);
}

Frame make(FrameType type, PayloadWriter&& writer,
           std::size_t max_payload = kDefaultMaxFramePayload) {
  Frame frame;
  frame.type = type;
  frame.payload = std::move(writer).take();
  if (frame.payload.size() > max_payload) {
    throw FrameError("frame too large: a " + std::string(frame_type_name(type)) + " frame of " +
                     std::to_string(frame.payload.size()) + " bytes exceeds the limit of " +
                     std::to_string(max_payload) + " bytes");
  }
  return frame;
}

// A code this build does not know (a newer plugin's) arrives as MH_INTERNAL: the host's error
// table only maps the codes it knows.
mh_status status_field(PayloadReader& in, std::string_view field) {
  const std::uint32_t value = in.u32(field);
  return value > MH_PERMISSION_DENIED ? MH_INTERNAL : static_cast<mh_status>(value);
}

}  // namespace

Frame LoadMessage::encode() const {
  PayloadWriter out;
  out.u32(protocol_version).bytes(plugin_path).bytes(shown_path).bytes(model);
  out.u64(address_space_bytes).u8(core_dumps ? 1 : 0);
  out.u32(static_cast<std::uint32_t>(cpus.size()));
  for (std::uint32_t cpu : cpus) out.u32(cpu);
  out.u64(max_frame_payload);
  return make(kType, std::move(out));
}

LoadMessage LoadMessage::decode(const Frame& frame) {
  PayloadReader in = reader_for(frame, kType);
  LoadMessage message;
  message.protocol_version = in.u32("protocol_version");
  message.plugin_path = in.bytes("plugin_path");
  message.shown_path = in.bytes("shown_path");
  message.model = in.bytes("model");
  message.address_space_bytes = in.u64("address_space_bytes");
  message.core_dumps = in.u8("core_dumps") != 0;
  const std::uint32_t count = in.u32("cpus");
  if (count > kMaxCpus) {
    throw FrameError("malformed load frame: " + std::to_string(count) + " CPUs (at most " +
                     std::to_string(kMaxCpus) + ")");
  }
  for (std::uint32_t i = 0; i < count; ++i) message.cpus.push_back(in.u32("cpus"));
  message.max_frame_payload = in.u64("max_frame_payload");
  in.end();
  return message;
}

Frame LoadedMessage::encode() const {
  PayloadWriter out;
  out.u32(protocol_version).u32(abi_version).bytes(name).bytes(version).bytes(description);
  out.u8(has_stats ? 1 : 0);
  return make(kType, std::move(out));
}

LoadedMessage LoadedMessage::decode(const Frame& frame) {
  PayloadReader in = reader_for(frame, kType);
  LoadedMessage message;
  message.protocol_version = in.u32("protocol_version");
  message.abi_version = in.u32("abi_version");
  message.name = in.bytes("name");
  message.version = in.bytes("version");
  message.description = in.bytes("description");
  message.has_stats = in.u8("has_stats") != 0;
  in.end();
  return message;
}

Frame LoadFailedMessage::encode() const {
  PayloadWriter out;
  out.bytes(message);
  return make(kType, std::move(out));
}

LoadFailedMessage LoadFailedMessage::decode(const Frame& frame) {
  PayloadReader in = reader_for(frame, kType);
  LoadFailedMessage result;
  result.message = in.bytes("message");
  in.end();
  return result;
}

Frame InitMessage::encode() const {
  PayloadWriter out;
  out.bytes(name).bytes(files_dir).bytes(manifest_dir).bytes(config_json).u64(generation);
  return make(kType, std::move(out));
}

InitMessage InitMessage::decode(const Frame& frame) {
  PayloadReader in = reader_for(frame, kType);
  InitMessage message;
  message.name = in.bytes("name");
  message.files_dir = in.bytes("files_dir");
  message.manifest_dir = in.bytes("manifest_dir");
  message.config_json = in.bytes("config_json");
  message.generation = in.u64("generation");
  in.end();
  return message;
}

Frame InitDoneMessage::encode() const {
  PayloadWriter out;
  out.u32(status).bytes(message);
  return make(kType, std::move(out));
}

InitDoneMessage InitDoneMessage::decode(const Frame& frame) {
  PayloadReader in = reader_for(frame, kType);
  InitDoneMessage result;
  result.status = status_field(in, "status");
  result.message = in.bytes("message");
  in.end();
  return result;
}

Frame PredictMessage::encode(std::size_t max_payload) const {
  PayloadWriter out;
  out.u64(call).bytes(id).bytes(route).bytes(body).u8(stream ? 1 : 0).i64(deadline_unix_ms);
  return make(kType, std::move(out), max_payload);
}

PredictMessage PredictMessage::decode(const Frame& frame) {
  PayloadReader in = reader_for(frame, kType);
  PredictMessage message;
  message.call = in.u64("call");
  message.id = in.bytes("id");
  message.route = in.bytes("route");
  message.body = in.bytes("body");
  message.stream = in.u8("stream") != 0;
  message.deadline_unix_ms = in.i64("deadline_unix_ms");
  in.end();
  return message;
}

Frame CancelMessage::encode() const {
  PayloadWriter out;
  out.u64(call).u32(status);
  return make(kType, std::move(out));
}

CancelMessage CancelMessage::decode(const Frame& frame) {
  PayloadReader in = reader_for(frame, kType);
  CancelMessage message;
  message.call = in.u64("call");
  message.status = status_field(in, "status");
  in.end();
  if (message.status == MH_OK) throw FrameError("malformed cancel frame: status MH_OK");
  return message;
}

Frame CleanupMessage::encode() const {
  return make(kType, PayloadWriter());
}

CleanupMessage CleanupMessage::decode(const Frame& frame) {
  reader_for(frame, kType).end();
  return {};
}

Frame StatsReadMessage::encode() const {
  PayloadWriter out;
  out.u64(seq);
  return make(kType, std::move(out));
}

StatsReadMessage StatsReadMessage::decode(const Frame& frame) {
  PayloadReader in = reader_for(frame, kType);
  StatsReadMessage message;
  message.seq = in.u64("seq");
  in.end();
  return message;
}

Frame WriteMessage::encode(std::size_t max_payload) const {
  PayloadWriter out;
  out.u64(call).bytes(data);
  return make(kType, std::move(out), max_payload);
}

WriteMessage WriteMessage::decode(const Frame& frame) {
  PayloadReader in = reader_for(frame, kType);
  WriteMessage message;
  message.call = in.u64("call");
  message.data = in.bytes("data");
  in.end();
  return message;
}

Frame FinishMessage::encode(std::size_t max_payload) const {
  PayloadWriter out;
  out.u64(call).u32(status).bytes(body);
  return make(kType, std::move(out), max_payload);
}

FinishMessage FinishMessage::decode(const Frame& frame) {
  PayloadReader in = reader_for(frame, kType);
  FinishMessage message;
  message.call = in.u64("call");
  message.status = status_field(in, "status");
  message.body = in.bytes("body");
  in.end();
  return message;
}

Frame CleanupDoneMessage::encode() const {
  return make(kType, PayloadWriter());
}

CleanupDoneMessage CleanupDoneMessage::decode(const Frame& frame) {
  reader_for(frame, kType).end();
  return {};
}

Frame LogMessage::encode(std::size_t max_payload) const {
  PayloadWriter out;
  out.u32(static_cast<std::uint32_t>(level)).bytes(message);
  return make(kType, std::move(out), max_payload);
}

LogMessage LogMessage::decode(const Frame& frame) {
  PayloadReader in = reader_for(frame, kType);
  LogMessage result;
  const std::uint32_t level = in.u32("level");
  result.level = level > MH_LOG_ERROR ? MH_LOG_ERROR : static_cast<mh_log_level>(level);
  result.message = in.bytes("message");
  in.end();
  return result;
}

Frame StatsReplyMessage::encode(std::size_t max_payload) const {
  PayloadWriter out;
  out.u64(seq).u32(status).u32(writes).bytes(json);
  return make(kType, std::move(out), max_payload);
}

StatsReplyMessage StatsReplyMessage::decode(const Frame& frame) {
  PayloadReader in = reader_for(frame, kType);
  StatsReplyMessage message;
  message.seq = in.u64("seq");
  message.status = status_field(in, "status");
  message.writes = in.u32("writes");
  message.json = in.bytes("json");
  in.end();
  return message;
}

}  // namespace mh::isolation
