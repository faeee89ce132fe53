// Device selection for the bindings: the device argument, and a refusal that says why CUDA is not usable.
#pragma once
#include <napi.h>

#include "args.h"
#include "sacl/device.h"

namespace sacl {
namespace addon {

// info[i] as a Device (0 = CPU, 1 = CUDA); CUDA must be compiled in and available.
inline Device requireDevice(const Napi::CallbackInfo& info, size_t i) {
  const auto d = static_cast<Device>(requireInteger(info, i, "device", 0, 1));
  if (d == Device::Cuda && !cudaStatus().available) {
    throw Napi::Error::New(info.Env(), "The 'cuda' backend is not available: " + cudaStatus().reason);
  }
  return d;
}

}  // namespace addon
}  // namespace sacl
