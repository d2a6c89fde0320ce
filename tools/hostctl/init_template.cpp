#include "init_template.hpp"

#include <modelhost/version.h>
#include <cctype>
#include <fstream>
#include <system_error>

#include "exit_codes.hpp"

namespace hostctl {
namespace {

namespace fs = std::filesystem;

// {{name}}: the model name (folder, library, MH_PLUGIN name); {{ident}}: it as a C/CMake
// identifier; {{Class}}: the C++ class; {{sdk_version}}: MAJOR.MINOR of the SDK hostctl came
// with (find_package accepts that version or a newer one of the same major); {{sdk_prefix}}:
// where the README installs the SDK.
constexpr std::string_view kCMakeLists =
    R"TEMPLATE(# {{name}}: a modelhost plugin, built against the installed modelhost SDK:
#   cmake -S . -B build -DCMAKE_PREFIX_PATH=<where the SDK is installed> && cmake --build build
# The plugin, lib{{name}}.so, is built into this folder, next to model.json, which names it.
cmake_minimum_required(VERSION 3.25)
project({{ident}} VERSION 0.1.0 LANGUAGES CXX)

set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE Release CACHE STRING "Build type" FORCE)
endif()

find_package(ModelHost {{sdk_version}} REQUIRED)  # ModelHost::sdk and modelhost_add_plugin()
find_package(Threads REQUIRED)        # the SDK's C++ helper runs predict on worker threads

# A MODULE library that exports only mh_plugin_get, the plugin's one entry point.
modelhost_add_plugin({{ident}}_plugin src/{{ident}}_model.cpp)
target_link_libraries({{ident}}_plugin PRIVATE Threads::Threads)
target_compile_options({{ident}}_plugin PRIVATE -Wall -Wextra -Wpedantic)
set_target_properties({{ident}}_plugin PROPERTIES
  OUTPUT_NAME "{{name}}"
  LIBRARY_OUTPUT_DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}")
)TEMPLATE";

constexpr std::string_view kModelSource = R"TEMPLATE(// {{name}}: a modelhost plugin.
//
// hostd builds one {{Class}} per model generation (init), calls predict for each request on
// the SDK helper's worker threads, and destroys it when the model unloads (cleanup).
// <modelhost/plugin.hpp> describes the whole contract.
#include <modelhost/plugin.hpp>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace {

// Quotes text as a JSON string.
std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

class {{Class}} {
 public:
  // init. Load weights and other files here (context.files_dir holds the synced files,
  // context.config_json the "config" object of model.json). Throw mh::Error(code, message),
  // or any exception, to fail the load: `hostctl status` shows the message.
  explicit {{Class}}(const mh::ModelContext& context)
      : name_(context.name), config_json_(context.config_json) {
    context.log(MH_LOG_INFO, "{{name}}: ready with config " + config_json_);
  }

  // predict. The body is the client's JSON (hostd has checked that it parses). Answer with
  // response.finish(json). A client that asked for a stream also gets each response.write(json)
  // as a Server-Sent Event before the final answer. Throwing mh::Error(MH_INVALID_ARGUMENT, ...)
  // answers 400 with its message.
  void predict(mh::Request request, mh::Response& response) {
    const std::uint64_t number = ++requests_;
    const std::string greeting = "Hello from " + name_ + "!";
    const std::string input = request.body().empty() ? "null" : std::string(request.body());
    if (request.stream()) {
      for (std::string_view word : {"Hello", "from", "{{name}}"}) {
        if (!response.write(R"({"token": )" + json_string(word) + "}")) return;  // client gone
      }
    }
    response.finish(R"({"greeting": )" + json_string(greeting) +
                    R"(, "model": )" + json_string(name_) +
                    R"(, "request": )" + std::to_string(number) +
                    R"(, "config": )" + config_json_ +
                    R"(, "input": )" + input + "}");
  }

 private:
  std::string name_;
  std::string config_json_;
  std::atomic<std::uint64_t> requests_{0};
};

MH_PLUGIN({{Class}}, "{{name}}", "0.1.0", "{{name}}, made by hostctl init")
)TEMPLATE";

constexpr std::string_view kManifest = R"TEMPLATE({
  "plugin": "lib{{name}}.so",
  "config": {}
}
)TEMPLATE";

constexpr std::string_view kReadme = R"TEMPLATE(# {{name}}

A modelhost plugin, made by `hostctl init {{name}}`. The model is one C++ class over the SDK's
helper (`<modelhost/plugin.hpp>`) in `src/{{ident}}_model.cpp`: it answers each predict with a
greeting, its config and the input. Replace its body with your model.

## Build

Needs a C++20 compiler, CMake 3.25 or newer, and the modelhost SDK installed somewhere. From a
modelhost build tree, install the SDK once with:

```sh
cmake --install build --component sdk --prefix {{sdk_prefix}}
```

Then, in this folder:

```sh
cmake -S . -B build -DCMAKE_PREFIX_PATH={{sdk_prefix}}
cmake --build build
```

The plugin, `lib{{name}}.so`, is built into this folder, next to `model.json`, which names it.

## Run it in hostd

A model is a folder in hostd's models directory (`hostd --models-dir MODELS`) holding
`model.json` and the plugin. Copy both there and reload:

```sh
mkdir -p MODELS/{{name}}
cp model.json lib{{name}}.so MODELS/{{name}}/
hostctl reload {{name}} --wait
hostctl status
hostctl predict {{name}} -d '{"text": "hi"}'
hostctl predict {{name}} -d '{"text": "hi"}' --stream
curl -s http://127.0.0.1:8080/v1/models/{{name}}/predict -H 'content-type: application/json' \
     -d '{"text": "hi"}'
```

After a change, rebuild, copy `lib{{name}}.so` again and run `hostctl reload {{name}}`: the new
build loads beside the old one and takes over once it is ready, while requests in flight finish
on the old one. If the new build fails to load, the old one keeps serving and `hostctl status`
shows why.

## model.json

- `plugin`: the library, relative to `model.json`.
- `config`: any JSON object; the class receives it as `context.config_json`.
- `download_files_from`, `download_files_to`: where the model's files come from (a directory,
  `file://`, `s3://`, `https://`) and where hostd puts them before init (`context.files_dir`).
- `max_concurrency`, `timeout_ms`: limits hostd enforces for this model.
)TEMPLATE";

constexpr std::string_view kGitignore = R"TEMPLATE(/build/
/lib{{name}}.so
)TEMPLATE";

std::string sdk_version() {
  return std::to_string(MODELHOST_VERSION_MAJOR) + "." + std::to_string(MODELHOST_VERSION_MINOR);
}

std::string identifier(std::string_view name) {
  std::string out(name);
  for (char& c : out)
    if (c == '-') c = '_';
  return out;
}

// demo -> DemoModel, my-model_2 -> MyModel2Model, 3d-net -> Model3dNet.
std::string class_name(std::string_view name) {
  std::string pascal;
  bool upper = true;
  for (char c : name) {
    if (c == '-' || c == '_') {
      upper = true;
      continue;
    }
    pascal += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  if (std::isdigit(static_cast<unsigned char>(pascal.front()))) return "Model" + pascal;
  return pascal + "Model";
}

std::string expand(std::string_view text, std::string_view name) {
  const std::pair<std::string_view, std::string> substitutions[] = {
      {"{{name}}", std::string(name)},
      {"{{ident}}", identifier(name)},
      {"{{Class}}", class_name(name)},
      {"{{sdk_version}}", sdk_version()},
      {"{{sdk_prefix}}", std::string(kSdkPrefix)},
  };
  std::string out(text);
  for (const auto& [key, value] : substitutions) {
    for (auto at = out.find(key); at != std::string::npos; at = out.find(key, at + value.size()))
      out.replace(at, key.size(), value);
  }
  return out;
}

}  // namespace

bool is_valid_model_name(std::string_view name) {
  if (name.empty()) return false;
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_or_digit(name.front())) return false;
  for (char c : name)
    if (!lower_or_digit(c) && c != '-' && c != '_') return false;
  return true;
}

std::vector<ProjectFile> plugin_project_files(std::string_view name) {
  const std::string ident = identifier(name);
  return {
      {"CMakeLists.txt", expand(kCMakeLists, name)},
      {"src/" + ident + "_model.cpp", expand(kModelSource, name)},
      {"model.json", expand(kManifest, name)},
      {"README.md", expand(kReadme, name)},
      {".gitignore", expand(kGitignore, name)},
  };
}

fs::path write_plugin_project(std::string_view name, const fs::path& parent) {
  if (!is_valid_model_name(name)) {
    throw UsageError("invalid model name \"" + std::string(name) +
                     "\": use lowercase letters, digits, '-' and '_', starting with a letter "
                     "or a digit (it names the folder, the model and lib<name>.so)");
  }
  const fs::path root = parent / std::string(name);
  std::error_code ec;
  const auto status = fs::symlink_status(root, ec);
  if (fs::exists(status)) {
    if (!fs::is_directory(status))
      throw OperationFailed("refusing to create " + root.string() + ": a file of that name exists");
    if (!fs::is_empty(root, ec) || ec) {
      throw OperationFailed("refusing to write into " + root.string() +
                            ": the folder exists and is not empty (pick another name or --dir, "
                            "or remove it first)");
    }
  }
  for (const auto& file : plugin_project_files(name)) {
    const fs::path path = root / file.path;
    fs::create_directories(path.parent_path(), ec);
    if (ec)
      throw OperationFailed("cannot create " + path.parent_path().string() + ": " + ec.message());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << file.content;
    out.close();
    if (!out) throw OperationFailed("cannot write " + path.string());
  }
  return root;
}

}  // namespace hostctl
