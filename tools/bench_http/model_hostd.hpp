#pragma once
// A hostd of its own serving one model for a benchmark: a temporary models directory holding
// the plugin and the model.json given, a free loopback port, the log in a file; stopped with
// SIGTERM (and the directory removed) at the end.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace mh::bench {

struct ModelHostdSpec {
  std::filesystem::path hostd;
  std::string model;                    // the model's name (its folder)
  std::filesystem::path plugin;         // copied into the model's folder under its own name
  std::string manifest_json;            // the model.json text
  std::vector<std::string> extra_args;  // for hostd
  std::chrono::seconds ready_timeout{60};
};

class ModelHostd {
 public:
  // Starts hostd and waits until the model is ready. Throws std::runtime_error with the log.
  explicit ModelHostd(const ModelHostdSpec& spec);
  ~ModelHostd();
  ModelHostd(const ModelHostd&) = delete;
  ModelHostd& operator=(const ModelHostd&) = delete;

  std::uint16_t port() const { return port_; }

 private:
  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

// Runs `argv` to its end with its output in `log`; throws std::runtime_error (with the log)
// unless it exits 0.
void run_to_completion(const std::vector<std::string>& argv, const std::filesystem::path& log);

}  // namespace mh::bench
