// The temporary file a download goes into: ".<name>.partial-<tag>" in the final file's own
// directory (so the closing rename is atomic and never crosses a filesystem). It hashes what it
// receives, reports progress, honours a rate limit and the stop token, and on commit() fsyncs,
// renames over the real name and fsyncs the directory. Until then the real name is untouched.
// It is private from its first byte (file_mode, applied exactly), and never holds more than
// max_size bytes: write() refuses the piece that would pass it, so a source sending more than it
// listed cannot fill the disk.
#pragma once

#include <sys/stat.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <stop_token>
#include <string>

#include "files/hashing.hpp"
#include "files/safe_path.hpp"
#include "files/unique_fd.hpp"
#include "sync/source.hpp"

namespace mh::sync {

struct PartialFileOptions {
  std::function<void(std::int64_t)> on_bytes;  // progress delta; negative on restart()
  std::uint64_t max_bytes_per_sec = 0;         // 0: unlimited
  std::stop_token stop;                        // write() throws cancelled once requested
  bool md5 = false;                            // also compute MD5 (when the source gives one)
  mode_t file_mode = files::kPrivateFileMode;  // the partial's mode, and so the final file's
  std::uint64_t max_size = UINT64_MAX;         // the object's listed size
};

class PartialFile final : public ByteSink {
 public:
  // A new, empty partial for `file_name` in the directory `dir`.
  static PartialFile create(files::UniqueFd dir, std::string file_name, PartialFileOptions options);
  // An existing partial `partial` (from an interrupted run) to continue; re-hashes its bytes.
  // Throws SyncError (permanent) when it is not a regular file or already exceeds max_size.
  static PartialFile resume(files::UniqueFd dir, std::string file_name, std::string partial,
                            PartialFileOptions options);

  PartialFile(PartialFile&&) noexcept = default;
  PartialFile& operator=(PartialFile&&) = delete;
  ~PartialFile() override;  // removes the partial unless committed or kept

  void write(const char* data, std::size_t size) override;
  void restart() override;
  std::uint64_t offset() const override { return size_; }
  std::uint64_t size_limit() const override { return options_.max_size; }

  std::string sha256() const { return sha256_.hex_digest(); }
  std::string md5() const { return md5_.hex_digest(); }
  const std::string& partial_name() const { return partial_; }
  std::uint64_t bytes_received() const { return received_; }  // by write(), restarts included

  // fsync, rename over the real name, fsync the directory. Returns the final file's stat.
  struct stat commit();
  // fsync and leave the partial in place for a later resume.
  void keep();

 private:
  PartialFile(files::UniqueFd dir, files::UniqueFd fd, std::string file_name, std::string partial,
              PartialFileOptions options);
  void throttle(std::size_t size);
  void start_writeback();

  files::UniqueFd dir_;
  files::UniqueFd fd_;
  std::string file_name_;
  std::string partial_;
  PartialFileOptions options_;
  files::Hasher sha256_{files::HashAlgorithm::sha256};
  files::Hasher md5_{files::HashAlgorithm::md5};
  std::uint64_t size_ = 0;
  std::uint64_t received_ = 0;
  std::uint64_t flushed_ = 0;  // bytes handed to start_writeback's disk writes
  std::uint64_t throttled_bytes_ = 0;
  std::chrono::steady_clock::time_point throttle_start_;
  bool done_ = false;  // committed or kept: the destructor leaves the file alone
};

}  // namespace mh::sync
