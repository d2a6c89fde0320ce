#include "files/hashing.hpp"

#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "files/io_error.hpp"

namespace mh::files {

struct Hasher::Ctx {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Ctx() { EVP_MD_CTX_free(ctx); }
};

namespace {

const EVP_MD* md_of(HashAlgorithm algorithm) {
  return algorithm == HashAlgorithm::md5 ? EVP_md5() : EVP_sha256();
}

std::string to_hex(const unsigned char* data, unsigned size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(size * 2, '0');
  for (unsigned i = 0; i < size; ++i) {
    out[2 * i] = digits[data[i] >> 4];
    out[2 * i + 1] = digits[data[i] & 15];
  }
  return out;
}

}  // namespace

Hasher::Hasher(HashAlgorithm algorithm) : algorithm_(algorithm), ctx_(std::make_unique<Ctx>()) {
  if (ctx_->ctx == nullptr) throw std::bad_alloc();
  reset();
}
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;
Hasher::~Hasher() = default;

void Hasher::reset() {
  if (EVP_DigestInit_ex(ctx_->ctx, md_of(algorithm_), nullptr) != 1) {
    throw std::runtime_error("EVP_DigestInit_ex failed");
  }
}

void Hasher::update(const void* data, std::size_t size) {
  if (size != 0 && EVP_DigestUpdate(ctx_->ctx, data, size) != 1) {
    throw std::runtime_error("EVP_DigestUpdate failed");
  }
}

std::string Hasher::hex_digest() const {
  EVP_MD_CTX* copy = EVP_MD_CTX_new();
  if (copy == nullptr) throw std::bad_alloc();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned size = 0;
  const bool ok =
      EVP_MD_CTX_copy_ex(copy, ctx_->ctx) == 1 && EVP_DigestFinal_ex(copy, digest, &size) == 1;
  EVP_MD_CTX_free(copy);
  if (!ok) throw std::runtime_error("EVP_DigestFinal_ex failed");
  return to_hex(digest, size);
}

std::string sha256_hex(std::string_view data) {
  Hasher hasher(HashAlgorithm::sha256);
  hasher.update(data.data(), data.size());
  return hasher.hex_digest();
}

FileDigests digest_fd(int fd, bool with_md5, const std::stop_token& stop) {
  Hasher hasher(HashAlgorithm::sha256);
  Hasher md5(HashAlgorithm::md5);
  std::vector<char> buffer(1 << 20);
  off_t offset = 0;
  for (;;) {
    if (stop.stop_requested()) throw cancelled_error();
    const ssize_t n = ::pread(fd, buffer.data(), buffer.size(), offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw permanent_error(std::string("read failed: ") + std::strerror(errno));
    }
    if (n == 0) break;
    hasher.update(buffer.data(), static_cast<std::size_t>(n));
    if (with_md5) md5.update(buffer.data(), static_cast<std::size_t>(n));
    offset += n;
  }
  return {hasher.hex_digest(), with_md5 ? md5.hex_digest() : std::string()};
}

}  // namespace mh::files
