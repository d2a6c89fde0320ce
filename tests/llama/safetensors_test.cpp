// model.safetensors: memory-mapped views, sharded indexes, and damaged files named clearly.
#include "safetensors.hpp"
#include "llama_test_support.hpp"

#include <modelhost/plugin.hpp>

#include <doctest/doctest.h>

#include <fstream>

namespace mh::llama {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("mh-llama-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  static int& counter() {
    static int n = 0;
    return n;
  }
};

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

std::string safetensors_bytes(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  return out + header + data;
}

template <typename F>
std::pair<mh_status, std::string> error_of(F&& f) {
  try {
    f();
  } catch (const mh::Error& error) {
    return {error.code(), error.what()};
  }
  return {MH_OK, ""};
}

TEST_CASE("safetensors.reads_views") {
  TempDir dir;
  float values[3] = {1.5f, -2.0f, 3.25f};
  write_file(dir.path / "a.safetensors",
             safetensors_bytes(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}})",
                               std::string(reinterpret_cast<char*>(values), 12)));
  auto file = SafetensorsFile::open(dir.path / "a.safetensors");
  at::Tensor x = file->tensor("x");
  file.reset();  // the view keeps the mapping
  CHECK(x.sizes() == at::IntArrayRef{3});
  CHECK(x[2].item<float>() == 3.25f);
}

TEST_CASE("safetensors.truncated_file") {
  TempDir dir;
  // The header promises 16 bytes of data; the file holds 12.
  write_file(dir.path / "t.safetensors",
             safetensors_bytes(R"({"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})",
                               std::string(12, '\0')));
  auto [code, message] = error_of([&] { SafetensorsFile::open(dir.path / "t.safetensors"); });
  CHECK(code == MH_INVALID_ARGUMENT);
  CHECK(message.find("tensor \"x\"") != std::string::npos);
  CHECK(message.find("truncated") != std::string::npos);

  // A header length beyond the end of the file.
  std::string cut = safetensors_bytes(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                                      std::string(4, '\0'));
  write_file(dir.path / "h.safetensors", cut.substr(0, 20));
  auto [code2, message2] = error_of([&] { SafetensorsFile::open(dir.path / "h.safetensors"); });
  CHECK(code2 == MH_INVALID_ARGUMENT);
  CHECK(message2.find("header says") != std::string::npos);

  // The real fixture cut short.
  const std::string real = read_text_file(test::tiny_fixture_dir() / "model.safetensors");
  write_file(dir.path / "model.safetensors", real.substr(0, real.size() - 100));
  auto [code3, message3] = error_of([&] { SafetensorsFile::open(dir.path / "model.safetensors"); });
  CHECK(code3 == MH_INVALID_ARGUMENT);
  CHECK(message3.find("truncated") != std::string::npos);
}

TEST_CASE("safetensors.size_mismatch_and_bad_dtype") {
  TempDir dir;
  write_file(dir.path / "s.safetensors",
             safetensors_bytes(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})",
                               std::string(4, '\0')));
  CHECK(error_of([&] {
          SafetensorsFile::open(dir.path / "s.safetensors");
        }).second.find("do not match its shape") != std::string::npos);
  write_file(dir.path / "d.safetensors",
             safetensors_bytes(R"({"x":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}})",
                               std::string(1, '\0')));
  CHECK(error_of([&] {
          SafetensorsFile::open(dir.path / "d.safetensors");
        }).second.find("unknown dtype \"Q4\"") != std::string::npos);
}

// A shape whose element count wraps around 2^64 must not pass the size check with a small data
// range (it would give a view far larger than the file).
TEST_CASE("safetensors.shape_overflow_is_refused") {
  TempDir dir;
  write_file(
      dir.path / "o.safetensors",
      safetensors_bytes(
          R"({"x":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}})", ""));
  CHECK(error_of([&] {
          SafetensorsFile::open(dir.path / "o.safetensors");
        }).second.find("overflows") != std::string::npos);
  write_file(dir.path / "u.safetensors",
             safetensors_bytes(
                 R"({"x":{"dtype":"F32","shape":[12800777777777777709],"data_offsets":[0,4]}})",
                 std::string(4, '\0')));
  CHECK(error_of([&] {
          SafetensorsFile::open(dir.path / "u.safetensors");
        }).second.find("too large") != std::string::npos);
}

// A negative offset is refused naming the tensor (found by fuzz_safetensors_header: it escaped
// as boost::system::system_error).
TEST_CASE("safetensors.negative_offset_is_refused") {
  TempDir dir;
  write_file(dir.path / "n.safetensors",
             safetensors_bytes(R"({"x":{"dtype":"U8","shape":[4],"data_offsets":[-4,0]}})",
                               std::string(4, '\0')));
  const auto [code, message] = error_of([&] { SafetensorsFile::open(dir.path / "n.safetensors"); });
  CHECK(code == MH_INVALID_ARGUMENT);
  CHECK(message.find("tensor \"x\": negative data_offsets") != std::string::npos);
}

TEST_CASE("weights.shape_mismatch_and_missing") {
  TempDir dir;
  // The fixture's weights with a config that wants a wider model.
  fs::copy_file(test::tiny_fixture_dir() / "model.safetensors", dir.path / "model.safetensors");
  ModelConfig config = load_model_config(test::tiny_fixture_dir());
  config.intermediate_size = 200;
  auto [code, message] = error_of([&] { load_weights(dir.path, config, at::kCPU, at::kFloat); });
  CHECK(code == MH_INVALID_ARGUMENT);
  CHECK(message.find("model.layers.0.mlp.gate_proj.weight\" has shape [160, 64], the config "
                     "implies [200, 64]") != std::string::npos);

  config = load_model_config(test::tiny_fixture_dir());
  config.num_layers = 3;
  auto [code2, message2] = error_of([&] { load_weights(dir.path, config, at::kCPU, at::kFloat); });
  CHECK(code2 == MH_NOT_FOUND);
  CHECK(message2.find("model.layers.2.") != std::string::npos);

  config = load_model_config(test::tiny_fixture_dir());
  config.tie_word_embeddings = false;
  CHECK(error_of([&] {
          load_weights(dir.path, config, at::kCPU, at::kFloat);
        }).second.find("lm_head.weight") != std::string::npos);

  TempDir empty;
  auto [code3, message3] =
      error_of([&] { load_weights(empty.path, config, at::kCPU, at::kFloat); });
  CHECK(code3 == MH_NOT_FOUND);
  CHECK(message3.find("no model.safetensors") != std::string::npos);
}

TEST_CASE("weights.sharded_index") {
  // Split the fixture into two shards with an index; the model must load the same weights.
  TempDir dir;
  const ModelConfig config = load_model_config(test::tiny_fixture_dir());
  auto whole = SafetensorsFile::open(test::tiny_fixture_dir() / "model.safetensors");
  boost::json::object weight_map;
  std::vector<std::pair<std::string, SafetensorsEntry>> entries(whole->entries().begin(),
                                                                whole->entries().end());
  const std::string raw = read_text_file(test::tiny_fixture_dir() / "model.safetensors");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<uint8_t>(raw[i]);
  const std::string data = raw.substr(8 + header_len);
  for (int shard = 0; shard < 2; ++shard) {
    boost::json::object header;
    std::string bytes;
    for (size_t i = shard; i < entries.size(); i += 2) {
      const auto& [name, e] = entries[i];
      boost::json::array shape;
      for (auto d : e.shape) shape.push_back(d);
      header[name] = {{"dtype", e.dtype},
                      {"shape", shape},
                      {"data_offsets", {bytes.size(), bytes.size() + (e.end - e.begin)}}};
      bytes += data.substr(e.begin, e.end - e.begin);
      weight_map[name] = "model-0000" + std::to_string(shard + 1) + "-of-00002.safetensors";
    }
    write_file(dir.path / ("model-0000" + std::to_string(shard + 1) + "-of-00002.safetensors"),
               safetensors_bytes(boost::json::serialize(header), bytes));
  }
  write_file(dir.path / "model.safetensors.index.json",
             boost::json::serialize(boost::json::object{{"metadata", boost::json::object{}},
                                                        {"weight_map", weight_map}}));
  LlamaWeights sharded = load_weights(dir.path, config, at::kCPU, at::kFloat);
  LlamaWeights single = load_weights(test::tiny_fixture_dir(), config, at::kCPU, at::kFloat);
  CHECK(at::equal(sharded.embed, single.embed));
  CHECK(at::equal(sharded.layers[1].qkv, single.layers[1].qkv));
  CHECK(at::equal(sharded.layers[0].gate_up, single.layers[0].gate_up));

  fs::remove(dir.path / "model-00002-of-00002.safetensors");
  auto [code, message] = error_of([&] { load_weights(dir.path, config, at::kCPU, at::kFloat); });
  CHECK(code == MH_NOT_FOUND);
  CHECK(message.find("model-00002-of-00002.safetensors") != std::string::npos);
}

}  // namespace
}  // namespace mh::llama
