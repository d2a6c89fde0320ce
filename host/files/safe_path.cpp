#include "files/safe_path.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "files/io_error.hpp"

namespace mh::files {

namespace {

std::string quoted(std::string_view key) {
  return "\"" + std::string(key) + "\"";
}

}  // namespace

std::string validate_key(std::string_view key) {
  if (key.empty()) return "empty object key";
  if (key.find('\0') != std::string_view::npos) return quoted(key) + ": key contains a NUL byte";
  if (key.front() == '/') return quoted(key) + ": absolute path refused";
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = std::min(key.find('/', start), key.size());
    const std::string_view part = key.substr(start, end - start);
    if (part.empty()) return quoted(key) + ": empty path component";
    if (part == ".") return quoted(key) + ": \".\" path component refused";
    if (part == "..") return quoted(key) + ": \"..\" component would leave the target directory";
    if (part.size() > 255) return quoted(key) + ": a path component is longer than 255 bytes";
    if (part.starts_with(kReservedPrefix)) {
      return quoted(key) + ": name reserved for the sync's own files";
    }
    if (end == key.size()) {
      if (part.front() == '.' && part.find(kPartialMarker) != std::string_view::npos) {
        return quoted(key) + ": name looks like a partial download";
      }
      break;
    }
    start = end + 1;
  }
  return {};
}

std::string partial_name(std::string_view file_name, std::string_view tag) {
  // Keep the whole name within NAME_MAX (255) whatever the file's name length; the cut does not
  // depend on the tag, so partial_name(name, "") is the prefix every partial of `name` has.
  const std::size_t room = 255 - 1 - kPartialMarker.size() - kMaxPartialTag;
  std::string name = ".";
  name += file_name.substr(0, room);
  name += kPartialMarker;
  name += tag;
  return name;
}

bool is_partial_of(std::string_view entry, std::string_view file_name) {
  const std::string prefix = partial_name(file_name, "");
  return entry.size() > prefix.size() && entry.starts_with(prefix);
}

std::pair<std::string_view, std::string_view> split_key(std::string_view key) {
  const std::size_t slash = key.rfind('/');
  if (slash == std::string_view::npos) return {std::string_view{}, key};
  return {key.substr(0, slash), key.substr(slash + 1)};
}

TargetDir::TargetDir(const std::filesystem::path& root, mode_t dir_mode)
    : root_(root), dir_mode_(dir_mode) {
  std::error_code ec;
  bool created = false;
  if (!std::filesystem::is_directory(root, ec)) {
    const std::filesystem::path parent = root.lexically_normal().parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec) {
      throw permanent_error("cannot create target directory " + root.string() + ": " +
                            ec.message());
    }
    created = ::mkdir(root.c_str(), dir_mode) == 0;
    if (!created && errno != EEXIST) {
      throw permanent_error("cannot create target directory " + root.string() + ": " +
                            std::strerror(errno));
    }
  }
  fd_.reset(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd_) {
    throw permanent_error("cannot open target directory " + root.string() + ": " +
                          std::strerror(errno));
  }
  // Only a directory made here gets the mode; an existing one is the operator's to set.
  if (created) ::fchmod(fd_.get(), dir_mode);
}

UniqueFd TargetDir::open_dir(std::string_view dir, bool create) const {
  UniqueFd current(::dup(fd_.get()));
  if (!current) throw permanent_error(std::string("dup failed: ") + std::strerror(errno));
  std::size_t start = 0;
  while (start < dir.size()) {
    const std::size_t end = std::min(dir.find('/', start), dir.size());
    const std::string part(dir.substr(start, end - start));
    int fd = ::openat(current.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
      const bool made = ::mkdirat(current.get(), part.c_str(), dir_mode_) == 0;
      if (!made && errno != EEXIST) {
        throw permanent_error("cannot create directory " + (root_ / dir.substr(0, end)).string() +
                              ": " + std::strerror(errno));
      }
      fd = ::openat(current.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (made && fd >= 0) ::fchmod(fd, dir_mode_);  // exactly dir_mode_, whatever the umask
    }
    if (fd < 0) {
      if (errno == ENOENT && !create) return UniqueFd();
      const std::string why = (errno == ELOOP || errno == ENOTDIR)
                                  ? "is a symlink or not a directory (refusing to follow it)"
                                  : std::strerror(errno);
      throw permanent_error((root_ / dir.substr(0, end)).string() + ": " + why);
    }
    current.reset(fd);
    start = end + 1;
  }
  return current;
}

std::optional<struct stat> TargetDir::stat_key(std::string_view key) const {
  const auto [dir, name] = split_key(key);
  UniqueFd dir_fd;
  try {
    dir_fd = open_dir(dir, false);
  } catch (const IoError&) {
    return std::nullopt;  // a file or symlink where a directory should be: the key is not there
  }
  if (!dir_fd) return std::nullopt;
  struct stat st {};
  if (::fstatat(dir_fd.get(), std::string(name).c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return std::nullopt;
  }
  return st;
}

}  // namespace mh::files
