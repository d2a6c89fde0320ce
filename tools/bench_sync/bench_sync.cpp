// Sync throughput: a directory of equal files (default 8 x 256 MB = 2 GB) made in a temporary
// directory, synced from a local source and from s3rver on loopback, then synced again (a no-op).
//
//   bench_sync [--total-mb 2048] [--files 8] [--parallel 4] [--dir /tmp] [--no-s3] [--verify]
//
// The source files are freshly written, so they sit in the page cache: the figures measure the
// sync's own path (read, hash, write, fsync, rename; for S3 also HTTP, SigV4, MD5 and s3rver),
// not a cold disk.
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <unistd.h>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "sync/synchronizer.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace mh::sync;

namespace {

struct Timed {
  SyncResult result;
  double seconds = 0;
};

Timed timed_sync(const SyncJob& job) {
  SyncProgress progress;
  const auto start = std::chrono::steady_clock::now();
  Timed t;
  t.result = sync(job, progress);
  t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!t.result.ok) throw std::runtime_error("sync failed: " + t.result.error);
  return t;
}

void report(const char* what, const Timed& full, const Timed& noop) {
  const double mb = static_cast<double>(full.result.bytes_transferred) / 1e6;
  std::printf("%-28s %8.0f MB in %6.2f s = %7.1f MB/s   no-op re-sync: %7.1f ms (%llu bytes)\n",
              what, mb, full.seconds, mb / full.seconds, noop.seconds * 1000.0,
              static_cast<unsigned long long>(noop.result.bytes_transferred));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_sync: model-file sync throughput (local directory and s3rver on loopback)"};
  std::uint64_t total_mb = 2048;
  int files = 8;
  int parallel = 4;
  std::string dir;
  bool no_s3 = false;
  bool verify = false;
  app.add_option("--total-mb", total_mb, "total size of the test directory in MB (MiB)")
      ->check(CLI::PositiveNumber);
  app.add_option("--files", files, "number of equal files")->check(CLI::PositiveNumber);
  app.add_option("--parallel", parallel, "parallel transfers")->check(CLI::PositiveNumber);
  app.add_option("--dir", dir, "where to make the temporary directory (default: $TMPDIR or /tmp)");
  app.add_flag("--no-s3", no_s3, "skip the s3rver part");
  app.add_flag("--verify", verify, "compare SHA-256 of every synced file with the source");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);
  if (!dir.empty()) ::setenv("TMPDIR", dir.c_str(), 1);

  try {
    test::TempDir tmp;
    const fs::path source = tmp / "source";
    const std::uint64_t file_size = total_mb * 1024 * 1024 / static_cast<std::uint64_t>(files);
    std::printf("bench_sync: %d files x %.1f MB = %.1f MB in %s, %d parallel transfers\n", files,
                static_cast<double>(file_size) / 1e6, static_cast<double>(file_size) * files / 1e6,
                tmp.path().c_str(), parallel);
    for (int i = 0; i < files; ++i) {
      test::write_random_file(source / "weights" / ("model-" + std::to_string(i) + ".safetensors"),
                              file_size, static_cast<std::uint64_t>(100 + i));
    }
    ::sync();  // the source's own writeback must not overlap the timed syncs

    SyncJob job;
    job.parallel = parallel;
    job.source = parse_source_uri(source.string());
    job.target = tmp / "local-copy";
    const Timed local = timed_sync(job);
    const Timed local_noop = timed_sync(job);
    report("local directory", local, local_noop);
    if (verify && test::tree_digest(job.target) != test::tree_digest(source)) {
      throw std::runtime_error("local copy differs from the source");
    }
    fs::remove_all(job.target);
    ::sync();

    if (!no_s3) {
      test::S3rverProcess server(tmp / "s3rver-data", {"bench"});
      server.start();
      const auto start = std::chrono::steady_clock::now();
      for (const auto& entry : fs::recursive_directory_iterator(source)) {
        if (!entry.is_regular_file()) continue;
        server.put("bench", "model/" + entry.path().lexically_relative(source).generic_string(),
                   entry.path());
      }
      ::sync();
      const double upload =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("%-28s %8.0f MB in %6.2f s (setup, not the sync)\n", "upload into s3rver",
                  static_cast<double>(file_size) * files / 1e6, upload);
      SyncJob s3 = job;
      s3.source = parse_source_uri("s3://bench/model/");
      s3.source_settings.s3 = server.settings();
      s3.target = tmp / "s3-copy";
      const Timed remote = timed_sync(s3);
      const Timed remote_noop = timed_sync(s3);
      report("s3rver on loopback (SigV4)", remote, remote_noop);
      if (verify && test::tree_digest(s3.target) != test::tree_digest(source)) {
        throw std::runtime_error("S3 copy differs from the source");
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_sync: %s\n", e.what());
    return 1;
  }
  return 0;
}
