#include "test_support.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "files/hashing.hpp"
#include "files/safe_path.hpp"
#include "files/unique_fd.hpp"

extern char** environ;

namespace mh::sync::test {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/mh-sync-test-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  // A test may have left a read-only or odd entry; removal is best effort.
  fs::remove_all(path_, ec);
}

void write_random_file(const fs::path& path, std::uint64_t size, std::uint64_t seed) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  std::vector<std::uint64_t> block(1 << 17);
  std::uint64_t state = seed * 0x9E3779B97F4A7C15ULL + 1;
  std::uint64_t left = size;
  while (left > 0) {
    for (auto& word : block) {
      std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
      word = z ^ (z >> 31);
    }
    const std::uint64_t n = std::min<std::uint64_t>(left, block.size() * sizeof(std::uint64_t));
    out.write(reinterpret_cast<const char*>(block.data()), static_cast<std::streamsize>(n));
    left -= n;
  }
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

void write_text_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string sha256_file(const fs::path& path) {
  files::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw std::runtime_error("cannot open " + path.string());
  return files::digest_fd(fd.get(), false).sha256;
}

std::map<std::string, std::string> tree_digest(const fs::path& root, bool all) {
  std::map<std::string, std::string> digests;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    std::error_code ec;
    if (!entry.is_regular_file(ec) || entry.is_symlink(ec)) continue;
    const std::string name = entry.path().filename().string();
    const bool ours =
        name.starts_with(files::kReservedPrefix) ||
        (name.starts_with('.') && name.find(files::kPartialMarker) != std::string::npos);
    if (ours && !all) continue;
    digests[entry.path().lexically_relative(root).generic_string()] = sha256_file(entry.path());
  }
  return digests;
}

std::vector<std::string> partial_files(const fs::path& root) {
  std::vector<std::string> found;
  if (!fs::exists(root)) return found;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with('.') && name.find(files::kPartialMarker) != std::string::npos) {
      found.push_back(entry.path().lexically_relative(root).generic_string());
    }
  }
  return found;
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

namespace {

std::size_t collect(char* data, std::size_t one, std::size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, one * n);
  return one * n;
}

}  // namespace

std::pair<long, std::string> http_get(const std::string& url) {
  CURL* curl = curl_easy_init();
  std::string body;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 120L);
  const CURLcode code = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  if (code != CURLE_OK) {
    throw std::runtime_error(url + ": " + curl_easy_strerror(code));
  }
  return {status, body};
}

std::string url_encode(const std::string& text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || u == '-' || u == '_' || u == '.' || u == '~') {
      out += c;
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 15];
    }
  }
  return out;
}

S3rverProcess::S3rverProcess(fs::path data_dir, std::vector<std::string> buckets)
    : data_dir_(std::move(data_dir)), buckets_(std::move(buckets)) {}

S3rverProcess::~S3rverProcess() {
  kill();
}

void S3rverProcess::start() {
  if (running()) return;
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  std::vector<std::string> args = {MH_NODE_EXECUTABLE, MH_S3RVER_LAUNCHER,
                                   "--directory",      data_dir_.string(),
                                   "--port",           std::to_string(port_),
                                   "--access-key",     kAccessKey,
                                   "--secret",         kSecret,
                                   "--region",         kRegion};
  for (const auto& bucket : buckets_) {
    args.push_back("--bucket");
    args.push_back(bucket);
  }
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (rc != 0) {
    ::close(pipe_fds[0]);
    pid_ = -1;
    throw std::runtime_error(std::string("cannot start node: ") + std::strerror(rc));
  }
  stdout_fd_ = pipe_fds[0];
  // Wait for "S3RVER_PORT <n>".
  std::string output;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (output.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{stdout_fd_, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      kill();
      throw std::runtime_error("s3rver did not start within 30 s");
    }
    char buffer[256];
    const ssize_t n = ::read(stdout_fd_, buffer, sizeof buffer);
    if (n <= 0) {
      kill();
      throw std::runtime_error("s3rver exited at start (is tests/node_modules installed?): " +
                               output);
    }
    output.append(buffer, static_cast<std::size_t>(n));
  }
  const auto at = output.find("S3RVER_PORT ");
  if (at == std::string::npos) {
    kill();
    throw std::runtime_error("unexpected s3rver output: " + output);
  }
  port_ = std::stoi(output.substr(at + 12));
}

void S3rverProcess::kill() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  if (stdout_fd_ >= 0) {
    ::close(stdout_fd_);
    stdout_fd_ = -1;
  }
}

S3Settings S3rverProcess::settings() const {
  S3Settings s;
  s.region = kRegion;
  s.endpoint = endpoint();
  s.access_key_id = kAccessKey;
  s.secret_access_key = kSecret;
  return s;
}

std::string S3rverProcess::control(const std::string& op, const std::string& query) {
  auto [status, body] = http_get(endpoint() + "/__control/" + op + "?" + query);
  if (status != 200) throw std::runtime_error("s3rver control " + op + ": " + body);
  return body;
}

std::string S3rverProcess::put(const std::string& bucket, const std::string& key,
                               const fs::path& file) {
  return control("put", "bucket=" + url_encode(bucket) + "&key=" + url_encode(key) +
                            "&file=" + url_encode(fs::absolute(file).string()));
}

void S3rverProcess::remove(const std::string& bucket, const std::string& key) {
  control("delete", "bucket=" + url_encode(bucket) + "&key=" + url_encode(key));
}

void S3rverProcess::fault(const std::string& key_suffix, int status, int count) {
  control("fault", "key=" + url_encode(key_suffix) + "&status=" + std::to_string(status) +
                       "&count=" + std::to_string(count));
}

void S3rverProcess::redirect(const std::string& key_suffix, const std::string& location,
                             int status) {
  control("redirect", "key=" + url_encode(key_suffix) + "&location=" + url_encode(location) +
                          "&status=" + std::to_string(status));
}

void S3rverProcess::pad_listings(std::uint64_t bytes) {
  control("pad-listings", "bytes=" + std::to_string(bytes));
}

void S3rverProcess::understate(const std::string& key_suffix, std::uint64_t size) {
  control("understate", "key=" + url_encode(key_suffix) + "&size=" + std::to_string(size));
}

void S3rverProcess::misrange(const std::string& key_suffix) {
  control("misrange", "key=" + url_encode(key_suffix));
}

int S3rverProcess::requests(const std::string& key_suffix) {
  return std::stoi(control("requests", "key=" + url_encode(key_suffix)));
}

}  // namespace mh::sync::test
