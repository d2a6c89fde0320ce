#include "model/models_directory.hpp"

#include "files/hashing.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace mh::host {

namespace fs = std::filesystem;

namespace {

constexpr const char* kManifestName = "model.json";

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path.string() + ": cannot read it");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string sha256_of_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path.string() + ": cannot read it");
  files::Hasher hash(files::HashAlgorithm::sha256);
  std::vector<char> buffer(1 << 16);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    hash.update(buffer.data(), static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) throw std::runtime_error(path.string() + ": read error");
  return hash.hex_digest();
}

fs::path resolve_plugin(const ModelSource& model, const ScanSettings& settings) {
  const Manifest& manifest = *model.manifest;
  std::error_code error;
  if (manifest.plugin) {
    const fs::path wanted(*manifest.plugin);
    const fs::path beside = wanted.is_absolute() ? wanted : model.dir / wanted;
    if (fs::is_regular_file(beside, error)) return beside;
    std::string searched = model.dir.string();
    if (!wanted.is_absolute()) {
      for (const auto& dir : settings.plugin_dirs) {
        if (fs::is_regular_file(dir / wanted, error)) return dir / wanted;
        searched += ", " + dir.string();
      }
    }
    throw std::runtime_error((model.dir / kManifestName).string() + ": \"plugin\": \"" +
                             *manifest.plugin + "\" not found (searched " + searched +
                             (settings.plugin_dirs.empty() ? "; no --plugin-dir given" : "") + ")");
  }
  std::vector<fs::path> libraries;
  for (const auto& entry : fs::directory_iterator(model.dir, error)) {
    if (entry.is_regular_file(error) && entry.path().extension() == ".so") {
      libraries.push_back(entry.path());
    }
  }
  if (libraries.size() == 1) return libraries.front();
  if (libraries.empty()) {
    throw std::runtime_error(model.dir.string() +
                             ": no plugin: model.json names no \"plugin\" and the directory "
                             "holds no .so file");
  }
  std::sort(libraries.begin(), libraries.end());
  std::string names;
  for (const auto& library : libraries) {
    names += (names.empty() ? "" : ", ") + library.filename().string();
  }
  throw std::runtime_error(model.dir.string() + ": several .so files (" + names +
                           "): name one with \"plugin\" in model.json");
}

ModelSource scan_model(const ScanSettings& settings, const std::string& name) {
  ModelSource model;
  model.name = name;
  model.dir = settings.models_dir / name;
  const fs::path manifest_path = model.dir / kManifestName;
  std::string manifest_text;
  try {
    if (!is_valid_model_name(name)) {
      throw std::runtime_error(model.dir.string() +
                               ": not a valid model name (letters, digits, '.', '_', '-'; "
                               "starting with a letter or digit)");
    }
    manifest_text = read_text(manifest_path);
    model.content_hash = files::sha256_hex(manifest_text);
    ParsedManifest parsed = parse_manifest(manifest_text, manifest_path.string());
    model.manifest = std::move(parsed.manifest);
    model.warnings = std::move(parsed.warnings);
    const Manifest& manifest = *model.manifest;
    if (manifest.download_files_from) {
      try {
        model.files_source =
            sync::parse_source_uri(*manifest.download_files_from, settings.storage, manifest.files);
      } catch (const std::invalid_argument& error) {
        throw std::runtime_error(manifest_path.string() + ": " + error.what());
      }
      model.files_target = manifest.download_files_to ? fs::path(*manifest.download_files_to)
                                                      : settings.cache_dir / name;
      if (model.files_target.is_relative()) model.files_target = model.dir / model.files_target;
      model.files_target = model.files_target.lexically_normal();
    }
    model.plugin_path = resolve_plugin(model, settings);
    model.content_hash = files::sha256_hex("manifest " + files::sha256_hex(manifest_text) +
                                           " plugin " + sha256_of_file(model.plugin_path));
  } catch (const std::exception& error) {
    model.error = error.what();
    if (model.content_hash.empty()) model.content_hash = files::sha256_hex(model.error);
  }
  return model;
}

}  // namespace

bool is_valid_model_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  auto ok = [](char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (!first && (c == '.' || c == '_' || c == '-'));
  };
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!ok(name[i], i == 0)) return false;
  }
  return true;
}

fs::path plugin_store_dir(const fs::path& cache_dir) {
  return cache_dir / ".plugins";
}

std::vector<ModelSource> scan_models_directory(const ScanSettings& settings) {
  std::error_code error;
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(settings.models_dir, error)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.front() == '.') continue;  // hidden: an editor's or rsync's
    std::error_code ignored;
    if (!entry.is_directory(ignored)) continue;
    if (!fs::exists(entry.path() / kManifestName, ignored)) continue;  // not a model (yet)
    names.push_back(name);
  }
  if (error) {
    throw std::runtime_error("--models-dir " + settings.models_dir.string() +
                             ": cannot list it: " + error.message());
  }
  std::sort(names.begin(), names.end());
  std::vector<ModelSource> models;
  models.reserve(names.size());
  // target directory -> the first model syncing into it, and from where
  std::map<fs::path, std::pair<std::string, std::string>> targets;
  for (const auto& name : names) {
    ModelSource model = scan_model(settings, name);
    if (model.error.empty() && model.files_source) {
      const std::string source = model.files_source->to_string();
      auto [it, fresh] = targets.try_emplace(model.files_target, model.name, source);
      if (!fresh && it->second.second != source) {
        model.error = (model.dir / kManifestName).string() + ": download_files_to " +
                      model.files_target.string() + " is already the target of model \"" +
                      it->second.first + "\" syncing " + it->second.second +
                      "; two sources cannot share one directory";
      }
    }
    models.push_back(std::move(model));
  }
  return models;
}

}  // namespace mh::host
