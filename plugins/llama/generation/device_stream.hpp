// The CUDA stream one model's scheduler runs all its GPU work on: created for this model
// alone (a stream shared with another model would let that model's kernels slip into a CUDA
// graph being captured), made current on the scheduler thread, and destroyed at cleanup
// together with the cuBLAS workspaces cached for it. On the CPU it does nothing.
#pragma once

#include <ATen/ATen.h>

#include <memory>

namespace mh::llama {

class DeviceStream {
 public:
  explicit DeviceStream(at::Device device);
  ~DeviceStream();
  DeviceStream(const DeviceStream&) = delete;
  DeviceStream& operator=(const DeviceStream&) = delete;

  // Makes the stream current for the calling thread (CUDA keeps the current stream per
  // thread); a no-op on the CPU.
  void make_current() const;
  // Waits for the stream's work; a no-op on the CPU.
  void synchronize() const;
  // Synchronises, drops the cuBLAS workspaces cached for the stream and destroys it.
  void release();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Waits for all work on the device (e.g. weights copied on the default stream before a
// model's own stream takes over); a no-op on the CPU.
void synchronize_device(at::Device device);

// Returns cached, unused device memory to the driver (CUDA); a no-op on the CPU.
void release_cached_device_memory(at::Device device);

}  // namespace mh::llama
