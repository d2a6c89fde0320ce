#include "plugin/in_process_backend.hpp"

namespace mh::host {

InProcessBackend::InProcessBackend(std::shared_ptr<const PluginLibrary> library,
                                   LibraryUnloader* unloader)
    : library_(std::move(library)), unloader_(unloader) {}

InProcessBackend::~InProcessBackend() {
  if (unloader_ != nullptr) unloader_->release_later(std::move(library_));
}

std::shared_ptr<InProcessBackend> InProcessBackend::load(const std::filesystem::path& stored,
                                                         const std::filesystem::path& shown,
                                                         LibraryUnloader* unloader) {
  try {
    return std::make_shared<InProcessBackend>(PluginLibrary::load(stored), unloader);
  } catch (const PluginLoadError& error) {
    throw PluginLoadError(name_shown_path(error.what(), stored, shown));
  }
}

std::string InProcessBackend::description() const {
  const char* text = library_->table().description;
  return text == nullptr ? "" : text;
}

void InProcessBackend::init(const mh_host* host, const mh_model_meta* meta, mh_init_done_fn done,
                            void* done_ctx) noexcept {
  library_->table().init(host, meta, done, done_ctx);
}

void InProcessBackend::predict(mh_instance* instance, const mh_request* request,
                               mh_response* response) noexcept {
  library_->table().predict(instance, request, response);
}

void InProcessBackend::cleanup(mh_instance* instance, mh_cleanup_done_fn done,
                               void* done_ctx) noexcept {
  library_->table().cleanup(instance, done, done_ctx);
}

const void* InProcessBackend::get_extension(const char* extension_id) const noexcept {
  const mh_plugin& table = library_->table();
  if (table.get_extension == nullptr || extension_id == nullptr) return nullptr;
  return table.get_extension(extension_id);
}

std::string name_shown_path(std::string message, const std::filesystem::path& stored,
                            const std::filesystem::path& shown) {
  const std::string from = stored.string();
  const std::string to = shown.string();
  if (from.empty() || from == to) return message;
  for (std::size_t at = message.find(from); at != std::string::npos;
       at = message.find(from, at + to.size())) {
    message.replace(at, from.size(), to);
  }
  return message;
}

}  // namespace mh::host
