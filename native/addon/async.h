// One kernel call: the arrays it reads and writes, run now (sync) or on libuv's thread pool (async →
// Promise).
//
// A synchronous call works on the caller's memory: no JavaScript runs until it returns. An async call
// cannot trust that memory once the binding has returned: the caller may rewrite it, shrink a resizable
// buffer, transfer the buffer away (structuredClone, postMessage) or let it be collected while the worker
// runs. So an async call snapshots every input into memory it owns before any content check (finite
// values, index ranges), computes into output memory it owns, and copies the outputs into the caller's
// arrays on the main thread when the work is done, after checking that each is still attached and of
// its size; otherwise its Promise rejects and the caller's arrays are left as they were.
//
// Both forms refuse an output that shares memory with an input or another output, by address, so two
// clones of one SharedArrayBuffer are caught as well as two views of one buffer.
#pragma once
#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "args.h"

namespace sacl {
namespace addon {

// Memory an async call owns, 64-byte aligned (whole vector registers for the kernels).
struct AlignedFree {
  void operator()(void* p) const;
};
using OwnedBytes = std::unique_ptr<unsigned char[], AlignedFree>;

class KernelCall {
 public:
  KernelCall(Napi::Env env, bool async) : env_(env), async_(async) { staged_.reserve(6); }  // the most an op stages

  // Registers an input the kernel reads; for an async call, points a.data at a snapshot. Call before
  // checking its contents. A null optional input (empty value) is skipped.
  template <class T>
  void input(const char* name, ArrayArg<T>& a) {
    if (a.value.IsEmpty()) return;
    stage(name, reinterpret_cast<void**>(&a.data), a.value, static_cast<size_t>(a.length), sizeof(T), false);
  }

  // Registers an output the kernel writes in full (RangeError when it overlaps anything registered
  // before); for an async call, points a.data at owned memory that is copied back when the work is done.
  template <class T>
  void output(const char* name, ArrayArg<T>& a) {
    if (a.value.IsEmpty()) return;
    stage(name, reinterpret_cast<void**>(&a.data), a.value, static_cast<size_t>(a.length), sizeof(T), true);
  }

  // Runs work() now and returns undefined, or queues it and returns a Promise that resolves to
  // undefined once the outputs are in the caller's arrays (or rejects with the error's message).
  Napi::Value run(std::function<void()> work);

  struct Staged {
    std::string name;
    const unsigned char* begin;  // the caller's memory
    size_t length;       // elements
    size_t elementSize;  // bytes
    bool output;
    size_t bytes() const { return length * elementSize; }
    Napi::ObjectReference array;  // async outputs: the caller's array, to copy into
    OwnedBytes owned;                    // async: the snapshot or the output memory
  };

 private:
  void stage(const char* name, void** data, const Napi::Value& value, size_t length, size_t elementSize, bool output);

  Napi::Env env_;
  bool async_;
  std::vector<Staged> staged_;
};

}  // namespace addon
}  // namespace sacl
