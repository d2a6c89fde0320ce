#include "init_template.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <modelhost/version.h>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "exit_codes.hpp"

using namespace hostctl;
namespace fs = std::filesystem;

namespace {

// A fresh directory under the system's temp folder, removed at the end of the test.
struct ScratchDir {
  fs::path path;
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "hostctl-init-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

const ProjectFile& file(const std::vector<ProjectFile>& files, const std::string& path) {
  for (const auto& f : files)
    if (f.path == path) return f;
  FAIL("no file " << path);
  throw;
}

}  // namespace

TEST_SUITE("init") {
  TEST_CASE("is_valid_model_name: [a-z0-9][a-z0-9-_]*") {
    for (const char* good : {"demo", "a", "0", "my-model_2", "llama-3.2"}) {
      CAPTURE(good);
      CHECK(is_valid_model_name(good) == (std::string(good) != "llama-3.2"));
    }
    for (const char* bad : {"", "-x", "_x", "Demo", "a b", "a/b", "..", "x.y", "é"}) {
      CAPTURE(bad);
      CHECK_FALSE(is_valid_model_name(bad));
    }
  }

  TEST_CASE("the project: CMakeLists with the SDK package, a model class, model.json, README") {
    const auto files = plugin_project_files("my-model");
    const std::string cmake = file(files, "CMakeLists.txt").content;
    // The SDK version hostctl was built with (CMake's project version), as MAJOR.MINOR.
    const std::string sdk_version =
        std::to_string(MODELHOST_VERSION_MAJOR) + "." + std::to_string(MODELHOST_VERSION_MINOR);
    CHECK(cmake.find("find_package(ModelHost " + sdk_version + " REQUIRED)") != std::string::npos);
    CHECK(cmake.find("modelhost_add_plugin(my_model_plugin src/my_model_model.cpp)") !=
          std::string::npos);
    CHECK(cmake.find(R"(OUTPUT_NAME "my-model")") != std::string::npos);
    CHECK(cmake.find("LIBRARY_OUTPUT_DIRECTORY \"${CMAKE_CURRENT_SOURCE_DIR}\"") !=
          std::string::npos);
    const std::string source = file(files, "src/my_model_model.cpp").content;
    CHECK(source.find("class MyModelModel {") != std::string::npos);
    CHECK(source.find("explicit MyModelModel(const mh::ModelContext& context)") !=
          std::string::npos);
    CHECK(source.find("void predict(mh::Request request, mh::Response& response)") !=
          std::string::npos);
    CHECK(source.find(R"(MH_PLUGIN(MyModelModel, "my-model", "0.1.0")") != std::string::npos);
    CHECK(file(files, "model.json").content ==
          "{\n  \"plugin\": \"libmy-model.so\",\n  \"config\": {}\n}\n");
    const std::string readme = file(files, "README.md").content;
    // One SDK prefix for installing and finding it (the top-level README uses it too).
    CHECK(readme.find("--component sdk --prefix " + std::string(kSdkPrefix) + "\n") !=
          std::string::npos);
    CHECK(readme.find("cmake -S . -B build -DCMAKE_PREFIX_PATH=" + std::string(kSdkPrefix) +
                      "\n") != std::string::npos);
    // hostd answers 415 to a POST without a JSON content type: every curl sends one.
    int curls = 0;
    for (std::size_t at = readme.find("curl "); at != std::string::npos;
         at = readme.find("curl ", at + 1), ++curls) {
      const std::string command = readme.substr(at, readme.find("\n\n", at) - at);
      CAPTURE(command);
      CHECK(command.find("-H 'content-type: application/json'") != std::string::npos);
    }
    CHECK(curls >= 1);
    CHECK(readme.find("cp model.json libmy-model.so MODELS/my-model/") != std::string::npos);
    CHECK(readme.find("hostctl reload my-model --wait") != std::string::npos);
    for (const auto& f : files) {
      CAPTURE(f.path);
      CHECK(f.content.find("{{") == std::string::npos);  // every placeholder replaced
    }
    // A name that starts with a digit still makes a valid C++ class name.
    CHECK(file(plugin_project_files("3d-net"), "src/3d_net_model.cpp")
              .content.find("class Model3dNet {") != std::string::npos);
  }

  TEST_CASE("write_plugin_project writes into a new or empty folder") {
    ScratchDir scratch;
    const fs::path root = write_plugin_project("demo", scratch.path);
    CHECK(root == scratch.path / "demo");
    CHECK(read(root / "model.json").find("libdemo.so") != std::string::npos);
    CHECK(fs::exists(root / "src" / "demo_model.cpp"));
    CHECK(fs::exists(root / "CMakeLists.txt"));
    CHECK(fs::exists(root / "README.md"));
    fs::create_directory(scratch.path / "empty");
    CHECK_NOTHROW(write_plugin_project("empty", scratch.path));
    // --dir that does not exist yet is created.
    CHECK_NOTHROW(write_plugin_project("deep", scratch.path / "a" / "b"));
    CHECK(fs::exists(scratch.path / "a" / "b" / "deep" / "model.json"));
  }

  TEST_CASE("write_plugin_project refuses a non-empty folder, a file, and a bad name") {
    ScratchDir scratch;
    fs::create_directory(scratch.path / "taken");
    std::ofstream(scratch.path / "taken" / "keep.txt") << "mine";
    CHECK_THROWS_WITH_AS(write_plugin_project("taken", scratch.path),
                         doctest::Contains("exists and is not empty"), OperationFailed);
    CHECK(read(scratch.path / "taken" / "keep.txt") == "mine");
    CHECK_FALSE(fs::exists(scratch.path / "taken" / "model.json"));
    std::ofstream(scratch.path / "plain") << "x";
    CHECK_THROWS_WITH_AS(write_plugin_project("plain", scratch.path),
                         doctest::Contains("a file of that name exists"), OperationFailed);
    CHECK_THROWS_WITH_AS(write_plugin_project("Bad Name", scratch.path),
                         doctest::Contains("invalid model name \"Bad Name\""), UsageError);
    CHECK_FALSE(fs::exists(scratch.path / "Bad Name"));
  }
}
