// Runs a kernel now (sync) or on libuv's thread pool (async → Promise). The async form keeps every input
// and output typed array referenced until the work settles, like sharp's pipeline baton.
#pragma once
#include <napi.h>

#include <functional>
#include <initializer_list>

namespace sacl {
namespace addon {

// Runs work() synchronously (returns undefined) or off the event loop (returns a Promise that resolves to
// undefined or rejects with an Error carrying the exception's message). keep: values to hold alive.
Napi::Value run(Napi::Env env, bool async, std::function<void()> work, std::initializer_list<Napi::Value> keep);

}  // namespace addon
}  // namespace sacl
