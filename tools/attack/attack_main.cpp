// attack: plays issue 10's attacks, one after the other, against a hostd that is already
// running on loopback (it starts nothing), while another client sends normal echo requests.
// Per attack it prints whether hostd is alive, the normal requests' latency (p50 and max),
// hostd's RSS and open descriptors (start, peak, end) and the RSS bound its limits allow.
//
//   attack --target 127.0.0.1:8080 --pid $(pidof hostd) --seconds 10
#include "attacks.hpp"
#include "observer.hpp"

#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <cstdio>
#include <functional>
#include <iostream>
#include <thread>

namespace {

using namespace mh::attack;

struct Attack {
  const char* name;
  std::function<std::string(const AttackSettings&)> run;
};

// More descriptors for ourselves: the connection attacks open many.
void raise_descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "attack: runs hostd hardening attacks (issue 10) against a running hostd on loopback and "
      "prints, per attack, whether hostd stayed alive, a normal client's latency, and hostd's "
      "RSS and descriptors against the bound its limits allow. Starts nothing; bounded in time "
      "and connections."};
  std::string target_text;
  long pid = 0;
  unsigned seconds = 5;
  std::size_t connections = 1200;
  std::string model = "echo";
  std::string api_key;
  std::uint64_t streams = 64;
  std::vector<std::string> only;
  app.add_option("--target", target_text, "hostd's public listener, HOST:PORT (loopback only)")
      ->required();
  app.add_option("--pid", pid, "hostd's process id (for /proc/PID: RSS, fds, its flags)")
      ->required();
  app.add_option("--seconds", seconds, "How long each attack runs")
      ->capture_default_str()
      ->check(CLI::Range(1u, 120u));
  app.add_option("--connections", connections, "Connections of the idle and slowloris attacks")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{5000}));
  app.add_option("--model", model, "Model the requests name (an echo model)")
      ->capture_default_str();
  app.add_option("--api-key", api_key, "hostd's --api-key, for the normal client only");
  app.add_option("--streams", streams,
                 "Streams hostd may run at once (the models' max_concurrency), for the bound")
      ->capture_default_str();
  app.add_option("--only", only, "Run only these attacks (by name)");
  CLI11_PARSE(app, argc, argv);

  const auto colon = target_text.rfind(':');
  boost::system::error_code error;
  const auto address = boost::asio::ip::make_address(
      target_text.substr(0, colon == std::string::npos ? 0 : colon), error);
  if (colon == std::string::npos || error || !address.is_loopback()) {
    std::cerr << "attack: --target must be a loopback HOST:PORT (127.0.0.1:8080), got \""
              << target_text << "\"\n";
    return 2;
  }
  AttackSettings settings;
  settings.target = {address,
                     static_cast<unsigned short>(std::stoul(target_text.substr(colon + 1)))};
  settings.duration = std::chrono::seconds(seconds);
  settings.connections = connections;
  settings.model = model;
  if (!process_alive(static_cast<pid_t>(pid))) {
    std::cerr << "attack: no process " << pid << "\n";
    return 2;
  }
  raise_descriptor_limit();

  const HostLimits limits = read_limits(static_cast<pid_t>(pid), streams);
  const double base = sample_process(static_cast<pid_t>(pid)).rss_mib;
  std::string formula;
  const double bound = rss_bound_mib(limits, base, &formula);
  std::printf("hostd pid %ld at %s; RSS bound from its limits: %s\n\n", pid, target_text.c_str(),
              formula.c_str());
  std::printf("%-24s %-5s %8s %8s %9s  %-23s %-15s %s\n", "attack", "alive", "p50 ms", "max ms",
              "ok/fail", "RSS MiB start/peak/end", "fds s/p/e", "what happened");

  const Attack attacks[] = {
      {"chunk-extension-flood", chunk_extension_flood},
      {"non-reading-streams", non_reading_streams},
      {"idle-unauthenticated", idle_unauthenticated},
      {"slowloris-heads", slowloris_heads},
      {"smuggling-te", smuggling},
  };
  bool all_alive = true;
  for (const Attack& attack : attacks) {
    if (!only.empty() && std::find(only.begin(), only.end(), attack.name) == only.end()) continue;
    ProcessWatch watch(static_cast<pid_t>(pid));
    NormalClient normal(settings.target, model, api_key);
    std::string what;
    try {
      what = attack.run(settings);
    } catch (const std::exception& failure) {
      what = std::string("attack failed: ") + failure.what();
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));  // hostd settles
    const NormalClient::Figures figures = normal.stop();
    const ProcessSample peak = watch.peak();
    const ProcessSample end = watch.stop();
    const bool alive = process_alive(static_cast<pid_t>(pid));
    all_alive = all_alive && alive;
    char rss[64];
    char fds[48];
    std::snprintf(rss, sizeof rss, "%.1f/%.1f/%.1f", watch.start().rss_mib, peak.rss_mib,
                  end.rss_mib);
    std::snprintf(fds, sizeof fds, "%d/%d/%d", watch.start().fds, peak.fds, end.fds);
    char counts[32];
    std::snprintf(counts, sizeof counts, "%zu/%zu", figures.ok, figures.failed);
    std::printf("%-24s %-5s %8.2f %8.2f %9s  %-23s %-15s %s%s\n", attack.name, alive ? "yes" : "NO",
                figures.p50_ms, figures.max_ms, counts, rss, fds, what.c_str(),
                peak.rss_mib > bound ? "  [RSS PEAK OVER THE BOUND]" : "");
    if (!figures.first_failure.empty()) {
      std::printf("%-24s first failed normal request: %s\n", "", figures.first_failure.c_str());
    }
    std::fflush(stdout);
    if (!alive) break;
  }
  return all_alive ? 0 : 1;
}
