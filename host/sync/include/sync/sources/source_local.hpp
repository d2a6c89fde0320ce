// A directory on this machine (or a mounted share) as a source.
#pragma once

#include <filesystem>

#include "sync/source.hpp"

namespace mh::sync {

// Lists regular files recursively; version = mtime in ns. Skips the sync's own files, so a synced
// cache can itself serve as a source.
//
// Symbolic links: a link to a file is followed when the file it resolves to lies inside the
// source root, and copied as a regular file (so a Hugging Face snapshot directory, whose files
// link to ../../blobs/, must be copied with its links resolved, or synced from real files). A
// link that resolves outside the root fails the listing with a permanent error naming the key: a
// source must not be able to publish an arbitrary file of this machine (a root-run hostd could
// otherwise copy /etc/shadow into a cache). fetch() checks the opened descriptor again, so a link
// swapped after the listing cannot escape either. Links to directories are skipped with a
// warning, broken links too. (A hard link cannot be told from its original: the kernel's
// protected_hardlinks keeps users from linking files they cannot read.)
class LocalSource final : public Source {
 public:
  explicit LocalSource(std::filesystem::path root, ListingLimits limits = {});

  std::vector<RemoteObject> list(const std::stop_token& stop) override;
  void fetch(const RemoteObject& object, ByteSink& sink, const std::stop_token& stop) override;

 private:
  std::filesystem::path root_;
  ListingLimits limits_;
};

}  // namespace mh::sync
