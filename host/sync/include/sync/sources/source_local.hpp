// A directory on this machine (or a mounted share) as a source.
#pragma once

#include <filesystem>

#include "sync/source.hpp"

namespace mh::sync {

// Lists regular files recursively (following symlinks to files, as in a Hugging Face cache
// snapshot, but not symlinks to directories); version = mtime in ns. Skips the sync's own files,
// so a synced cache can itself serve as a source.
class LocalSource final : public Source {
 public:
  explicit LocalSource(std::filesystem::path root);

  std::vector<RemoteObject> list(const std::stop_token& stop) override;
  void fetch(const RemoteObject& object, ByteSink& sink, const std::stop_token& stop) override;

 private:
  std::filesystem::path root_;
};

}  // namespace mh::sync
