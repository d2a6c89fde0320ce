// SIGTERM while streams are in flight: they complete, every model cleans up, exit code 0.
#include "hostd_e2e_helpers.hpp"

#include <boost/json/parse.hpp>
#include <thread>

using namespace mh::e2e;
using namespace std::chrono_literals;

TEST_CASE("sigterm_lets_streams_finish_and_cleans_up_every_model") {
  HostdProcess hostd;
  install_echo_model(hostd.models_dir(), "alpha");
  install_echo_model(hostd.models_dir(), "beta");
  reload_all(hostd);

  constexpr int kStreams = 4;
  std::vector<std::vector<std::string>> events(kStreams);
  std::vector<unsigned> statuses(kStreams, 0);
  std::atomic<int> started{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kStreams; ++i) {
    clients.emplace_back([&, i] {
      HttpClient client(hostd.http());
      auto head = client.start_stream(
          "POST", std::string("/v1/models/") + (i % 2 ? "beta" : "alpha") + "/predict",
          R"({"stream": true, "chunks": 5, "delay_ms": 1500})");
      statuses[static_cast<std::size_t>(i)] = head.status;
      bool first = true;
      while (auto event = client.next_event(10s)) {
        events[static_cast<std::size_t>(i)].push_back(*event);
        if (first) ++started;
        first = false;
      }
    });
  }
  while (started.load() < kStreams) std::this_thread::sleep_for(5ms);
  hostd.send_signal(SIGTERM);
  for (auto& thread : clients) thread.join();
  const int exit_code = hostd.wait_for_exit(30s);
  CHECK(exit_code == 0);
  for (int i = 0; i < kStreams; ++i) {
    CAPTURE(i);
    CHECK(statuses[static_cast<std::size_t>(i)] == 200);
    REQUIRE(events[static_cast<std::size_t>(i)].size() == 6);  // 5 chunks and the final reply
    CHECK(boost::json::parse(events[static_cast<std::size_t>(i)].back()).at("plugin") == "echo");
  }
  const std::string log = hostd.log();
  CHECK(hostd.count_in_log("[alpha#1] echo cleanup done") == 1);
  CHECK(hostd.count_in_log("[beta#1] echo cleanup done") == 1);
  CHECK(contains(log, "SIGTERM"));
  CHECK(hostd.count_in_log("stopped early") == 0);
}
