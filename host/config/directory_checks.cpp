#include "config/command_line.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

namespace mh::host {

namespace fs = std::filesystem;

namespace {

std::string errno_text(int error) {
  return std::strerror(error);
}

// A directory hostd treats as its own (the default admin socket's, e.g. /tmp/modelhost-$UID):
// one that someone else made, or that others may write to, could let them replace the socket.
void require_private_dir(const fs::path& dir, const std::string& flag) {
  struct stat info {};
  if (::lstat(dir.c_str(), &info) != 0) {
    throw ConfigError(flag + " " + dir.string() + ": cannot inspect it: " + errno_text(errno));
  }
  if (!S_ISDIR(info.st_mode)) {
    throw ConfigError(flag + " " + dir.string() + ": not a directory (a symbolic link?)");
  }
  if (info.st_uid != ::geteuid()) {
    throw ConfigError(flag + " " + dir.string() + ": owned by uid " + std::to_string(info.st_uid) +
                      ", not by this user (uid " + std::to_string(::geteuid()) +
                      "); remove it or pass --admin-socket");
  }
  if ((info.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 07777));
    throw ConfigError(flag + " " + dir.string() + ": writable by group or others (mode " + mode +
                      "); make it 0700 (chmod 700) or pass --admin-socket");
  }
}

// `private_dir`: created with mode 0700; `must_be_ours`: when it exists already, it must be
// ours and private (require_private_dir).
void require_writable_dir(const fs::path& dir, const std::string& flag, bool private_dir,
                          bool must_be_ours = false) {
  std::error_code error;
  if (!fs::exists(dir, error)) {
    fs::create_directories(dir, error);
    if (error) {
      throw ConfigError(flag + " " + dir.string() + ": cannot create it: " + error.message());
    }
    if (private_dir) fs::permissions(dir, fs::perms::owner_all, error);
  } else if (!fs::is_directory(dir, error)) {
    throw ConfigError(flag + " " + dir.string() + ": not a directory");
  } else if (must_be_ours) {
    require_private_dir(dir, flag);
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    throw ConfigError(flag + " " + dir.string() + ": not writable: " + errno_text(errno));
  }
}

}  // namespace

void prepare_directories(HostConfig& config) {
  std::error_code error;
  const std::string models_dir = config.origins.describe("models-dir");
  if (!fs::is_directory(config.models_dir, error)) {
    throw ConfigError(
        models_dir + " " + config.models_dir.string() +
        (fs::exists(config.models_dir, error) ? ": not a directory" : ": no such directory"));
  }
  if (::access(config.models_dir.c_str(), R_OK | X_OK) != 0) {
    throw ConfigError(models_dir + " " + config.models_dir.string() +
                      ": not readable: " + errno_text(errno));
  }
  config.models_dir = fs::absolute(config.models_dir);
  require_writable_dir(config.cache_dir, config.origins.describe("cache-dir"), false);
  config.cache_dir = fs::absolute(config.cache_dir);
  for (auto& dir : config.plugin_dirs) {
    if (!fs::is_directory(dir, error)) {
      throw ConfigError(config.origins.describe("plugin-dir") + " " + dir.string() +
                        ": no such directory");
    }
    dir = fs::absolute(dir);
  }
  const std::string admin_socket = config.origins.describe("admin-socket");
  const fs::path socket_dir =
      config.admin_socket.parent_path().empty() ? fs::path(".") : config.admin_socket.parent_path();
  require_writable_dir(socket_dir, admin_socket, true, config.admin_socket_dir_is_default);
  // sockaddr_un holds 108 bytes with the terminating NUL.
  if (config.admin_socket.string().size() >= 108) {
    throw ConfigError(admin_socket + " " + config.admin_socket.string() +
                      ": path too long for a Unix socket (107 bytes at most)");
  }
}

}  // namespace mh::host
