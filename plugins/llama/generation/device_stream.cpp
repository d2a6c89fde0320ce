#include "generation/device_stream.hpp"

#include <mutex>

#ifdef MH_LLAMA_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#ifdef MH_LLAMA_CLEAR_WORKSPACES_HEADER
#include MH_LLAMA_CLEAR_WORKSPACES_HEADER
#endif
#endif

namespace mh::llama {

#ifdef MH_LLAMA_WITH_CUDA
namespace {

// Streams of this plugin alive in the process. cuBLAS workspaces that libtorch cached for a
// stream outlive it; without a per-stream clear, all of them go once the last stream does
// (never while another instance may have graphs that captured a workspace's address).
std::mutex live_streams_mutex;
int live_streams = 0;

}  // namespace

struct DeviceStream::State {
  cudaStream_t raw = nullptr;
  c10::DeviceIndex device = 0;
};
#else
struct DeviceStream::State {};
#endif

DeviceStream::DeviceStream(at::Device device) {
#ifdef MH_LLAMA_WITH_CUDA
  if (device.is_cuda()) {
    state_ = std::make_unique<State>();
    state_->device = device.index() < 0 ? 0 : device.index();
    c10::cuda::CUDAGuard guard(state_->device);
    C10_CUDA_CHECK(cudaStreamCreateWithFlags(&state_->raw, cudaStreamNonBlocking));
    std::lock_guard lock(live_streams_mutex);
    ++live_streams;
  }
#else
  (void)device;
#endif
}

DeviceStream::~DeviceStream() {
  release();
}

void DeviceStream::make_current() const {
#ifdef MH_LLAMA_WITH_CUDA
  if (state_)
    c10::cuda::setCurrentCUDAStream(c10::cuda::getStreamFromExternal(state_->raw, state_->device));
#endif
}

void DeviceStream::synchronize() const {
#ifdef MH_LLAMA_WITH_CUDA
  if (state_) C10_CUDA_CHECK(cudaStreamSynchronize(state_->raw));
#endif
}

void DeviceStream::release() {
#ifdef MH_LLAMA_WITH_CUDA
  if (!state_) return;
  cudaStreamSynchronize(state_->raw);
  {
    std::lock_guard lock(live_streams_mutex);
    --live_streams;
#if defined(MH_LLAMA_CLEAR_WORKSPACES_FOR_STREAM)
    at::cuda::clearCublasWorkspacesForStream(state_->raw);
#elif defined(MH_LLAMA_CLEAR_WORKSPACES_HEADER)
    if (live_streams == 0) at::cuda::clearCublasWorkspaces();
#endif
  }
  cudaStreamDestroy(state_->raw);
  state_.reset();
#endif
}

void synchronize_device(at::Device device) {
#ifdef MH_LLAMA_WITH_CUDA
  if (device.is_cuda()) {
    c10::cuda::CUDAGuard guard(device.index() < 0 ? 0 : device.index());
    C10_CUDA_CHECK(cudaDeviceSynchronize());
  }
#else
  (void)device;
#endif
}

void release_cached_device_memory(at::Device device) {
#ifdef MH_LLAMA_WITH_CUDA
  if (device.is_cuda()) {
    c10::cuda::CUDACachingAllocator::emptyCache();
  }
#else
  (void)device;
#endif
}

}  // namespace mh::llama
