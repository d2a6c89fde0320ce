#pragma once
// The message each frame type carries (frame_type.hpp shows the conversation). Each message
// knows its FrameType, encodes itself into a Frame and decodes from one; decoding checks the
// type and every field, and throws FrameError naming the frame and field that are wrong.
//
// Requests are named on the wire by a `call` number that hostd picks (unique per runner), not
// by their text id: the runner never has to trust a string to find a request.
#include "isolation/frame.hpp"

#include <modelhost/plugin.h>

#include <cstdint>
#include <string>
#include <vector>

namespace mh::isolation {

// hostd -> runner, first frame: what to load and the limits to apply before loading it.
struct LoadMessage {
  static constexpr FrameType kType = FrameType::load;
  std::uint32_t protocol_version = kProtocolVersion;
  std::string plugin_path;                // hostd's private copy, what the runner dlopens
  std::string shown_path;                 // the operator's file, the only path messages may name
  std::string model;                      // "echo#3", for the runner's own log lines
  std::uint64_t address_space_bytes = 0;  // RLIMIT_AS; 0: unlimited
  bool core_dumps = false;                // false: RLIMIT_CORE 0
  std::vector<std::uint32_t> cpus;        // CPU affinity; empty: inherit hostd's
  std::uint64_t max_frame_payload = kDefaultMaxFramePayload;  // both ways, after this frame

  Frame encode() const;
  static LoadMessage decode(const Frame& frame);
};

// runner -> hostd: the plugin loaded; its identity.
struct LoadedMessage {
  static constexpr FrameType kType = FrameType::loaded;
  std::uint32_t protocol_version = kProtocolVersion;
  std::uint32_t abi_version = 0;
  std::string name;
  std::string version;
  std::string description;
  bool has_stats = false;  // the plugin serves mh.plugin.stats/1

  Frame encode() const;
  static LoadedMessage decode(const Frame& frame);
};

// runner -> hostd: the plugin could not be loaded (then the runner exits). `message` names
// the operator's file.
struct LoadFailedMessage {
  static constexpr FrameType kType = FrameType::load_failed;
  std::string message;

  Frame encode() const;
  static LoadFailedMessage decode(const Frame& frame);
};

// hostd -> runner: mh_model_meta for the plugin's init.
struct InitMessage {
  static constexpr FrameType kType = FrameType::init;
  std::string name;
  std::string files_dir;
  std::string manifest_dir;
  std::string config_json;
  std::uint64_t generation = 0;

  Frame encode() const;
  static InitMessage decode(const Frame& frame);
};

// runner -> hostd: init's done. MH_OK means the runner holds the instance.
struct InitDoneMessage {
  static constexpr FrameType kType = FrameType::init_done;
  mh_status status = MH_OK;
  std::string message;

  Frame encode() const;
  static InitDoneMessage decode(const Frame& frame);
};

// hostd -> runner: one mh_request.
struct PredictMessage {
  static constexpr FrameType kType = FrameType::predict;
  std::uint64_t call = 0;
  std::string id;
  std::string route;
  std::string body;
  bool stream = false;
  std::int64_t deadline_unix_ms = 0;

  Frame encode(std::size_t max_payload = kDefaultMaxFramePayload) const;
  static PredictMessage decode(const Frame& frame);
};

// hostd -> runner: the host's check_cancelled for `call` turned to `status` (MH_CANCELLED or
// MH_DEADLINE_EXCEEDED); the plugin hears it from check_cancelled and write from now on.
struct CancelMessage {
  static constexpr FrameType kType = FrameType::cancel;
  std::uint64_t call = 0;
  mh_status status = MH_CANCELLED;

  Frame encode() const;
  static CancelMessage decode(const Frame& frame);
};

// hostd -> runner: call the plugin's cleanup.
struct CleanupMessage {
  static constexpr FrameType kType = FrameType::cleanup;

  Frame encode() const;
  static CleanupMessage decode(const Frame& frame);
};

// hostd -> runner: read mh.plugin.stats/1; answered by a stats_reply with the same `seq`.
struct StatsReadMessage {
  static constexpr FrameType kType = FrameType::stats_read;
  std::uint64_t seq = 0;

  Frame encode() const;
  static StatsReadMessage decode(const Frame& frame);
};

// runner -> hostd: one mh_response.write of `call`.
struct WriteMessage {
  static constexpr FrameType kType = FrameType::write;
  std::uint64_t call = 0;
  std::string data;

  Frame encode(std::size_t max_payload = kDefaultMaxFramePayload) const;
  static WriteMessage decode(const Frame& frame);
};

// runner -> hostd: the mh_response.finish of `call` (the runner forwards only the first).
struct FinishMessage {
  static constexpr FrameType kType = FrameType::finish;
  std::uint64_t call = 0;
  mh_status status = MH_OK;
  std::string body;

  Frame encode(std::size_t max_payload = kDefaultMaxFramePayload) const;
  static FinishMessage decode(const Frame& frame);
};

// runner -> hostd: cleanup's done; the runner exits right after sending it.
struct CleanupDoneMessage {
  static constexpr FrameType kType = FrameType::cleanup_done;

  Frame encode() const;
  static CleanupDoneMessage decode(const Frame& frame);
};

// runner -> hostd: one line for the host's log, attributed to the model (the plugin's
// mh_host.log, or the runner's own notes such as a plugin bug it caught).
struct LogMessage {
  static constexpr FrameType kType = FrameType::log;
  mh_log_level level = MH_LOG_INFO;
  std::string message;

  Frame encode(std::size_t max_payload = kDefaultMaxFramePayload) const;
  static LogMessage decode(const Frame& frame);
};

// runner -> hostd: the answer to stats_read `seq`: the plugin's status, how many times it
// called write (exactly one is correct), and the first object it wrote.
struct StatsReplyMessage {
  static constexpr FrameType kType = FrameType::stats_reply;
  std::uint64_t seq = 0;
  mh_status status = MH_OK;
  std::uint32_t writes = 0;
  std::string json;

  Frame encode(std::size_t max_payload = kDefaultMaxFramePayload) const;
  static StatsReplyMessage decode(const Frame& frame);
};

}  // namespace mh::isolation
