#include "generation/device_stream.hpp"

#ifdef MH_LLAMA_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#endif

namespace mh::llama {

#ifdef MH_LLAMA_WITH_CUDA
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
#ifdef MH_LLAMA_HAVE_CLEAR_WORKSPACES_FOR_STREAM
  at::cuda::clearCublasWorkspacesForStream(state_->raw);
#endif
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
