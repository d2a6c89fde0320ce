// Incremental MD5 and SHA-256 (OpenSSL EVP) and whole-file SHA-256.
#pragma once

#include <cstddef>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>

namespace mh::files {

enum class HashAlgorithm { md5, sha256 };

class Hasher {
 public:
  explicit Hasher(HashAlgorithm algorithm);
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;
  ~Hasher();

  void update(const void* data, std::size_t size);
  // Lowercase hex of the digest of everything updated since construction or the last reset().
  // Does not disturb the running state.
  std::string hex_digest() const;
  void reset();

 private:
  struct Ctx;
  HashAlgorithm algorithm_;
  std::unique_ptr<Ctx> ctx_;
};

std::string sha256_hex(std::string_view data);

struct FileDigests {
  std::string sha256;
  std::string md5;  // empty unless asked for
};

// Digests of an open file's whole content (read with pread, so the offset is left alone).
// Throws SyncError: permanent on a read error, cancelled when `stop` is requested.
FileDigests digest_fd(int fd, bool with_md5, const std::stop_token& stop = {});

}  // namespace mh::files
