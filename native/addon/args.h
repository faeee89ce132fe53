// Argument checks for direct calls into the addon. The TypeScript layer validates first with the same
// message shape ("Expected <what> for <name> but received <what>"); these checks repeat whatever could
// corrupt memory (types, sizes, lengths, index ranges, non-finite coordinates) so that a direct call can
// throw but never crash the process.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace sacl {
namespace addon {

// "Expected <expected> for <name> but received <actual>".
std::string message(const std::string& name, const std::string& expected, const std::string& actual);
std::string describe(const Napi::Value& v);
[[noreturn]] void throwType(Napi::Env env, const std::string& name, const std::string& expected, const std::string& actual);
[[noreturn]] void throwRange(Napi::Env env, const std::string& name, const std::string& expected, const std::string& actual);

template <class T>
struct ArrayArg {
  T* data = nullptr;
  int64_t length = 0;
  Napi::Value value;  // the JavaScript array; empty for a null optional argument
};

// The typed array at info[i] (Float32Array / Int32Array); with `nullable`, null gives an empty ArrayArg.
ArrayArg<float> requireFloat32(const Napi::CallbackInfo& info, size_t i, const char* name, bool nullable = false);
ArrayArg<int32_t> requireInt32(const Napi::CallbackInfo& info, size_t i, const char* name);
int64_t requireInteger(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t min, int64_t max);
double requirePositive(const Napi::CallbackInfo& info, size_t i, const char* name);
// info[i] as a JavaScript array of at most maxLength integers, each in [min, max], into out; returns its
// length. Messages: "an array of <arrayWhat>" for a non-array, <elementWhat> for a bad element.
int requireIntList(const Napi::CallbackInfo& info, size_t i, const char* name, const std::string& arrayWhat,
                   const std::string& elementWhat, int64_t min, int64_t max, int maxLength, int64_t* out);
bool requireBool(const Napi::CallbackInfo& info, size_t i, const char* name);
void requireCount(const Napi::CallbackInfo& info, size_t count);

// A named size list such as {{"B", 2}, {"N", 9}, {"D", 4}}.
struct Dims {
  std::vector<std::pair<const char*, int64_t>> dims;
  int64_t elements() const;   // the product (callers check it with checkElements first)
  std::string shape() const;  // "[2, 9, 4]"
  std::string position(int64_t flat) const;
};

// The product of the sizes fits kMaxElements (no int32 / size_t overflow), else RangeError on `name`.
void checkElements(Napi::Env env, const char* name, const Dims& d);
// arr.length equals the product of d.
template <class T>
void checkLength(Napi::Env env, const char* name, const ArrayArg<T>& arr, const Dims& d);
// Every element finite; else RangeError naming name[a, b, c].
void checkFinite(Napi::Env env, const char* name, const ArrayArg<float>& arr, const Dims& d);
// Every element in [0, limit); else RangeError naming name[a, b, c].
void checkIndexRange(Napi::Env env, const char* name, const ArrayArg<int32_t>& arr, const Dims& d, int64_t limit,
                     const char* limitName);

}  // namespace addon
}  // namespace sacl
