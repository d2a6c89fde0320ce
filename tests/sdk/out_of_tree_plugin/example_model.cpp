// A plugin written with the C++ helper: one class, one macro. Its stats() member makes the
// helper export the mh.plugin.stats/1 extension; the description uses the installed
// modelhost/version.h.
#include <modelhost/version.h>
#include <modelhost/plugin.hpp>

#include <atomic>
#include <stdexcept>
#include <string>

class ExampleModel {
 public:
  explicit ExampleModel(const mh::ModelContext& context) : name_(context.name) {}

  void predict(mh::Request request, mh::Response& response) {
    ++requests_;
    const std::string body(request.body());
    if (body.find(R"("fail": "invalid")") != std::string::npos)
      throw mh::Error(MH_INVALID_ARGUMENT, "asked to fail");
    if (body.find(R"("fail": "crash")") != std::string::npos)
      throw std::runtime_error("std::runtime_error from the model");
    if (request.stream()) {
      response.write(R"({"part": 1})");
      response.write(R"({"part": 2})");
    }
    response.finish(R"({"model": ")" + name_ + R"(", "echo": )" + body + "}");
  }

  std::string stats() const { return R"({"requests": )" + std::to_string(requests_.load()) + "}"; }

 private:
  std::string name_;
  std::atomic<int> requests_{0};
};

MH_PLUGIN(ExampleModel, "out-of-tree-example", "0.1.0",
          "Built outside the modelhost tree against SDK " MODELHOST_VERSION)
