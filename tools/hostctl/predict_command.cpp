// hostctl predict NAME -d JSON|@file [--stream]: POST /v1/models/NAME/predict on the admin
// endpoint (hostd serves the public routes there too), printing the reply or, streamed, each
// Server-Sent Event's data as it arrives.
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>

#include "admin_client.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "sse_parser.hpp"

namespace hostctl {
namespace {

std::string read_request_body(const std::string& data) {
  if (data.empty() || data.front() != '@') return data;
  const std::string path = data.substr(1);
  if (path == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError("-d @" + path + ": cannot read the file");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// An event whose data is {"error": {...}} reports a failure that happened mid-stream.
std::optional<std::string> stream_error(const SseEvent& event) {
  boost::json::error_code ec;
  auto parsed = boost::json::parse(event.data, ec);
  const bool is_error_object = !ec && parsed.is_object() && parsed.as_object().contains("error");
  if (event.event != "error" && !is_error_object) return std::nullopt;
  if (is_error_object) {
    const auto& error = parsed.as_object().at("error");
    if (error.is_object()) {
      if (const auto* message = error.as_object().if_contains("message");
          message != nullptr && message->is_string())
        return std::string(message->as_string());
    }
  }
  return event.data;
}

bool is_event_stream(const std::string& content_type) {
  return content_type.rfind("text/event-stream", 0) == 0;
}

}  // namespace

int run_predict(AdminClient& client, const PredictOptions& options) {
  const std::string body = read_request_body(options.data);
  boost::json::error_code ec;
  boost::json::parse(body, ec);
  if (ec) throw UsageError("-d: the request body is not valid JSON (" + ec.message() + ")");

  const std::string target = "/v1/models/" + encode_path_segment(options.name) + "/predict";
  const auto timeout = std::chrono::seconds(static_cast<long>(std::ceil(options.timeout_s)));
  if (!options.stream) {
    const HttpReply reply = client.post_json(target, body, timeout);
    if (!reply.ok()) {
      std::cerr << "predict " << options.name << ": " << error_message(reply) << '\n';
      return kExitFailed;
    }
    std::cout << reply.body;
    if (reply.body.empty() || reply.body.back() != '\n') std::cout << '\n';
    return kExitOk;
  }

  SseParser parser;
  bool failed = false;
  bool ended_with_newline = true;
  auto print = [&](const SseEvent& event) {
    if (event.data == "[DONE]") return;  // the OpenAI-style end marker is not data
    if (auto error = stream_error(event)) {
      std::cerr << "predict " << options.name << ": " << *error << '\n';
      failed = true;
      return;
    }
    std::cout << event.data << '\n' << std::flush;
  };
  const HttpReply reply = client.post_streaming(target, body, timeout,
                                                [&](const HttpReply& head, std::string_view chunk) {
                                                  if (!is_event_stream(head.content_type)) {
                                                    // The model answered in one piece (it does not
                                                    // stream): print it as it comes.
                                                    std::cout << chunk << std::flush;
                                                    ended_with_newline = chunk.back() == '\n';
                                                    return;
                                                  }
                                                  for (const auto& event : parser.feed(chunk))
                                                    print(event);
                                                });
  if (!reply.ok()) {
    std::cerr << "predict " << options.name << ": " << error_message(reply) << '\n';
    return kExitFailed;
  }
  for (const auto& event : parser.finish()) print(event);
  if (!ended_with_newline) std::cout << '\n';
  return failed ? kExitFailed : kExitOk;
}

}  // namespace hostctl
