// Shared helpers of the sync tests: temporary directories, deterministic test data, tree digests,
// and a real s3rver process on loopback (s3rver_launcher.js) that can be killed and restarted.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "sync/sources/s3_settings.hpp"

namespace mh::sync::test {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

// `size` deterministic pseudo-random bytes (splitmix64 of `seed`), written to `path` (parents
// created).
void write_random_file(const fs::path& path, std::uint64_t size, std::uint64_t seed);
void write_text_file(const fs::path& path, const std::string& text);
std::string read_file(const fs::path& path);
std::string sha256_file(const fs::path& path);

// key -> SHA-256 of every regular file under `root`, skipping the sync's own files
// (.modelhost-sync.*, partials) unless `all`.
std::map<std::string, std::string> tree_digest(const fs::path& root, bool all = false);
// Paths (relative) of partial downloads under `root`.
std::vector<std::string> partial_files(const fs::path& root);

// Polls `done` every 2 ms until it holds or `timeout` passes; returns whether it held.
bool wait_until(const std::function<bool()>& done,
                std::chrono::milliseconds timeout = std::chrono::seconds(60));

// GET `url` with libcurl; returns the status and the body.
std::pair<long, std::string> http_get(const std::string& url);

class S3rverProcess {
 public:
  S3rverProcess(fs::path data_dir, std::vector<std::string> buckets);
  ~S3rverProcess();
  S3rverProcess(const S3rverProcess&) = delete;
  S3rverProcess& operator=(const S3rverProcess&) = delete;

  void start();  // a free port the first time, the same port afterwards
  void kill();   // SIGKILL, as a crash would
  bool running() const { return pid_ > 0; }
  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Settings that pass the launcher's SigV4 check (region and credentials are not the defaults,
  // so the test proves they are used).
  S3Settings settings() const;

  std::string put(const std::string& bucket, const std::string& key, const fs::path& file);
  void remove(const std::string& bucket, const std::string& key);
  void fault(const std::string& key_suffix, int status, int count);
  int requests(const std::string& key_suffix);
  // GET and HEAD of keys ending in `key_suffix` answer `status` with Location: `location`
  // ("" clears the rule).
  void redirect(const std::string& key_suffix, const std::string& location, int status = 302);
  // Listing answers get `bytes` of trailing whitespace (0: off).
  void pad_listings(std::uint64_t bytes);
  // Listing answers claim `size` bytes for keys ending in `key_suffix`; GET sends them all.
  void understate(const std::string& key_suffix, std::uint64_t size);
  // A ranged GET of keys ending in `key_suffix` is answered from byte 0 instead.
  void misrange(const std::string& key_suffix);

  static constexpr const char* kAccessKey = "AKIDSYNCTEST";
  static constexpr const char* kSecret = "wJalr/XUtnFEMI+K7MDENG/bPxRfiCYSECRET";
  static constexpr const char* kRegion = "eu-test-1";

 private:
  std::string control(const std::string& op, const std::string& query);

  fs::path data_dir_;
  std::vector<std::string> buckets_;
  pid_t pid_ = -1;
  int port_ = 0;
  int stdout_fd_ = -1;
};

std::string url_encode(const std::string& text);

}  // namespace mh::sync::test
