#pragma once
// A directory under $TMPDIR (or /tmp) removed with everything in it when the object dies.
// Kept short, because a Unix socket path inside it must fit in 108 bytes.
#include <filesystem>
#include <string_view>

namespace mh::e2e {

class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "mh-e2e");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const noexcept { return path_; }
  std::filesystem::path operator/(std::string_view child) const { return path_ / child; }

 private:
  std::filesystem::path path_;
};

}  // namespace mh::e2e
