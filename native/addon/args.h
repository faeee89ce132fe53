// Argument checks for direct calls into the addon. The TypeScript layer validates first with the same
// message shape ("Expected <what> for <name> but received <what>"); these checks repeat whatever could
// corrupt memory (types, sizes, lengths, index ranges, non-finite coordinates) so that a direct call can
// throw but never crash the process.
#pragma once
#include <napi.h>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "sacl/common.h"
#include "sacl/knn.h"

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

// The checks on one value (a property Fields reads, or setNumThreads' one argument).
// requireTyped<T>: a Float32Array (T = float) or Int32Array (T = int32_t); with `nullable`, null gives an
// empty ArrayArg.
template <class T>
ArrayArg<T> requireTyped(Napi::Env env, const Napi::Value& v, const char* name, bool nullable);
int64_t requireInteger(Napi::Env env, const Napi::Value& v, const char* name, int64_t min, int64_t max);
double requirePositive(Napi::Env env, const Napi::Value& v, const char* name);
double requireFinite(Napi::Env env, const Napi::Value& v, const char* name);
bool requireBool(Napi::Env env, const Napi::Value& v, const char* name);
// One of kMetricNames (sacl/knn.h): TypeError for a non-string, RangeError for another string.
Metric requireMetric(Napi::Env env, const Napi::Value& v, const char* name);

// info[i] as an integer in [min, max] (setNumThreads(n), the one positional binding), after requireCount.
int64_t requireInteger(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t min, int64_t max);
void requireCount(const Napi::CallbackInfo& info, size_t count);

// arr.length equals want; else RangeError "Expected <want> (<what>) for <name>.length but received <length>".
template <class T>
void checkLength(Napi::Env env, const char* name, const ArrayArg<T>& arr, int64_t want, const std::string& what);

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

// An array viewed as [rows, cols] (Fields::matrix).
struct Matrix {
  int64_t rows, cols;
  int64_t size() const { return rows * cols; }
};

// The one argument of a binding: an object whose properties are read by name (NativeAddon in
// src/backends/native.ts). A missing property reads as undefined and is refused like any bad value. A
// message names the key unless another name is given (the public one, e.g. options.candidates for y).
class Fields {
 public:
  explicit Fields(const Napi::CallbackInfo& info);  // TypeError unless exactly one plain object is passed
  Napi::Env env() const { return env_; }
  template <class T>
  ArrayArg<T> array(const char* key, const char* name = nullptr, bool nullable = false) const {
    return requireTyped<T>(env_, get(key), name ? name : key, nullable);
  }
  int64_t integer(const char* key, int64_t min, int64_t max, const char* name = nullptr) const {
    return requireInteger(env_, get(key), name ? name : key, min, max);
  }
  // A size in [1, kMaxElements].
  int64_t size(const char* key) const { return integer(key, 1, kMaxElements); }
  // Sizes in [1, kMaxElements], each read into its field, in the order listed.
  void sizes(std::initializer_list<std::pair<const char*, int64_t*>> list) const {
    for (const auto& [key, field] : list) *field = size(key);
  }
  // The typed array `key` of exactly `length` elements (`what` says where that length comes from, e.g.
  // "rows·C"); with `nullable`, null gives an empty ArrayArg and no length check.
  template <class T>
  ArrayArg<T> sized(const char* key, int64_t length, const std::string& what, bool nullable = false) const {
    ArrayArg<T> a = array<T>(key, nullptr, nullable);
    if (!a.value.IsEmpty()) checkLength(env_, key, a, length, what);
    return a;
  }
  // The typed arrays keys[0…N−1], each of `length` elements: const auto [x, y] = sized<float>({"x", "y"}, …).
  template <class T, size_t N>
  std::array<ArrayArg<T>, N> sized(const char* const (&keys)[N], int64_t length, const std::string& what, bool nullable = false) const {
    std::array<ArrayArg<T>, N> out;
    for (size_t i = 0; i < N; ++i) out[i] = sized<T>(keys[i], length, what, nullable);
    return out;
  }
  // The typed array `key` holding exactly the elements of dims (their product checked first, then the length).
  template <class T>
  ArrayArg<T> shaped(const char* key, const Dims& dims) const {
    ArrayArg<T> a = array<T>(key);
    checkElements(env_, key, dims);
    checkLength(env_, key, a, dims);
    return a;
  }
  // An array of at most maxLength integers, each in [min, max], into out; returns its length. Messages:
  // "an array of <arrayWhat>" for a non-array, <elementWhat> for a bad element key[i].
  int intList(const char* key, const std::string& arrayWhat, const std::string& elementWhat, int64_t min, int64_t max,
              int maxLength, int64_t* out) const;
  // An array of Float32Arrays (with `nullable`, an element may be null); messages name key[i].
  std::vector<ArrayArg<float>> floatList(const char* key, bool nullable = false) const;
  // The sizes `rowsKey` (≥ minRows) and `colsKey` (≥ 1) of the array `name`, their product within kMaxElements.
  Matrix matrix(const char* rowsKey, int64_t minRows, const char* colsKey, const char* name) const;
  double positive(const char* key) const { return requirePositive(env_, get(key), key); }
  double finite(const char* key) const { return requireFinite(env_, get(key), key); }
  bool boolean(const char* key) const { return requireBool(env_, get(key), key); }
  Metric metric(const char* key) const { return requireMetric(env_, get(key), key); }

 private:
  Napi::Value get(const char* key) const;
  Napi::Env env_;
  Napi::Object object_;
};

// A nullable array was given (null reads as an empty ArrayArg; a zero-length array is given).
template <class T>
bool given(const ArrayArg<T>& a) {
  return !a.value.IsEmpty();
}
// Every element finite; else RangeError naming name[a, b, c].
void checkFinite(Napi::Env env, const char* name, const ArrayArg<float>& arr, const Dims& d);
// Every element in [0, limit); else RangeError naming name[a, b, c].
void checkIndexRange(Napi::Env env, const char* name, const ArrayArg<int32_t>& arr, const Dims& d, int64_t limit,
                     const char* limitName);

}  // namespace addon
}  // namespace sacl
