#include "args.h"

#include <algorithm>
#include <climits>
#include <cmath>

#include "sacl/common.h"
#include "sacl/knn.h"

namespace sacl {
namespace addon {

std::string message(const std::string& name, const std::string& expected, const std::string& actual) {
  return "Expected " + expected + " for " + name + " but received " + actual;
}

static std::string numberText(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  if (v == std::floor(v) && std::fabs(v) < 9.007199254740992e15) return std::to_string(static_cast<int64_t>(v));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string describe(const Napi::Value& v) {
  switch (v.Type()) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return std::string("boolean ") + (v.As<Napi::Boolean>().Value() ? "true" : "false");
    case napi_number: return numberText(v.As<Napi::Number>().DoubleValue());
    case napi_string: return "\"" + v.As<Napi::String>().Utf8Value() + "\"";
    case napi_function: return "function";
    case napi_bigint: return "bigint";
    case napi_symbol: return "symbol";
    default: break;
  }
  if (v.IsTypedArray()) {
    switch (v.As<Napi::TypedArray>().TypedArrayType()) {
      case napi_float32_array: return "Float32Array";
      case napi_float64_array: return "Float64Array";
      case napi_int32_array: return "Int32Array";
      case napi_uint32_array: return "Uint32Array";
      case napi_int8_array: return "Int8Array";
      case napi_uint8_array: return "Uint8Array";
      case napi_uint8_clamped_array: return "Uint8ClampedArray";
      case napi_int16_array: return "Int16Array";
      case napi_uint16_array: return "Uint16Array";
      default: return "a typed array";
    }
  }
  if (v.IsArray()) return "array";
  if (v.IsArrayBuffer()) return "ArrayBuffer";
  return "object";
}

void throwType(Napi::Env env, const std::string& name, const std::string& expected, const std::string& actual) {
  throw Napi::TypeError::New(env, message(name, expected, actual));
}

void throwRange(Napi::Env env, const std::string& name, const std::string& expected, const std::string& actual) {
  throw Napi::RangeError::New(env, message(name, expected, actual));
}

void requireCount(const Napi::CallbackInfo& info, size_t count) {
  if (info.Length() != count) {
    throwType(info.Env(), "arguments", std::to_string(count) + " arguments", std::to_string(info.Length()));
  }
}

template <class T>
struct TypedArrayKind;
template <>
struct TypedArrayKind<float> {
  static constexpr napi_typedarray_type type = napi_float32_array;
  static constexpr const char* name = "Float32Array";
};
template <>
struct TypedArrayKind<int32_t> {
  static constexpr napi_typedarray_type type = napi_int32_array;
  static constexpr const char* name = "Int32Array";
};

template <class T>
ArrayArg<T> requireTyped(Napi::Env env, const Napi::Value& v, const char* name, bool nullable) {
  const char* typeName = TypedArrayKind<T>::name;
  ArrayArg<T> out;
  if (nullable && v.IsNull()) return out;
  // one call checks the kind and gives the first element's address (also for views on a
  // SharedArrayBuffer); a detached buffer reports length 0, which the length checks then refuse
  napi_typedarray_type actual;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, v, &actual, &length, &data, nullptr, nullptr) != napi_ok || actual != TypedArrayKind<T>::type) {
    throwType(env, name, std::string("a ") + typeName + (nullable ? " or null" : ""), describe(v));
  }
  out.length = data ? static_cast<int64_t>(length) : 0;
  out.data = static_cast<T*>(data);
  out.value = v;
  return out;
}

template ArrayArg<float> requireTyped<float>(Napi::Env, const Napi::Value&, const char*, bool);
template ArrayArg<int32_t> requireTyped<int32_t>(Napi::Env, const Napi::Value&, const char*, bool);

// (each read below is one N-API call: it fails on a value of another type)
int64_t requireInteger(Napi::Env env, const Napi::Value& v, const char* name, int64_t min, int64_t max) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) throwType(env, name, "an integer", describe(v));
  if (!(d == std::floor(d)) || d < static_cast<double>(min) || d > static_cast<double>(max)) {
    throwRange(env, name, "an integer between " + std::to_string(min) + " and " + std::to_string(max), describe(v));
  }
  return static_cast<int64_t>(d);
}

int64_t requireInteger(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t min, int64_t max) {
  return requireInteger(info.Env(), info[i], name, min, max);
}

double requirePositive(Napi::Env env, const Napi::Value& v, const char* name) {
  if (!v.IsNumber()) throwType(env, name, "a positive number", describe(v));
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d <= 0) throwRange(env, name, "a finite number > 0", describe(v));
  return d;
}

double requireFinite(Napi::Env env, const Napi::Value& v, const char* name) {
  if (!v.IsNumber()) throwType(env, name, "a finite number", describe(v));
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) throwRange(env, name, "a finite number", describe(v));
  return d;
}

bool requireBool(Napi::Env env, const Napi::Value& v, const char* name) {
  bool b;
  if (napi_get_value_bool(env, v, &b) != napi_ok) throwType(env, name, "a boolean", describe(v));
  return b;
}

Metric requireMetric(Napi::Env env, const Napi::Value& v, const char* name) {
  std::string names;
  for (int m = 0; m < kMetricCount; ++m) names += std::string(m ? ", " : "") + "\"" + kMetricNames[m] + "\"";
  if (!v.IsString()) throwType(env, name, "one of " + names, describe(v));
  const std::string s = v.As<Napi::String>().Utf8Value();
  for (int m = 0; m < kMetricCount; ++m) {
    if (s == kMetricNames[m]) return static_cast<Metric>(m);
  }
  throwRange(env, name, "one of " + names, describe(v));
}

// napi_get_named_property, not Object::Get: the same read without a wrapper per call. (A key string
// made once and kept saves little: N-API keeps only objects in references before version 10, and reading
// a kept string back costs as much as building it.)
Napi::Value Fields::get(const char* key) const {
  napi_value v;
  if (napi_get_named_property(env_, object_, key, &v) != napi_ok) throw Napi::Error::New(env_);
  return Napi::Value(env_, v);
}

Fields::Fields(const Napi::CallbackInfo& info) : env_(info.Env()) {
  if (info.Length() != 1 || !info[0].IsObject() || info[0].IsArray() || info[0].IsTypedArray()) {
    throwType(env_, "arguments", "one argument object",
              info.Length() == 1 ? describe(info[0]) : std::to_string(info.Length()) + " arguments");
  }
  object_ = info[0].As<Napi::Object>();
}

std::vector<ArrayArg<float>> Fields::floatList(const char* key, bool nullable) const {
  const Napi::Value v = get(key);
  if (!v.IsArray()) throwType(env_, key, nullable ? "an array of Float32Array or null" : "an array of Float32Array", describe(v));
  const auto arr = v.As<Napi::Array>();
  std::vector<ArrayArg<float>> out(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    out[i] = requireTyped<float>(env_, arr.Get(i), (std::string(key) + "[" + std::to_string(i) + "]").c_str(), nullable);
  }
  return out;
}

int Fields::intList(const char* key, const std::string& arrayWhat, const std::string& elementWhat, int64_t min, int64_t max,
                    int maxLength, int64_t* out) const {
  const Napi::Value v = get(key);
  if (!v.IsArray()) throwType(env_, key, "an array of " + arrayWhat, describe(v));
  const auto arr = v.As<Napi::Array>();
  const uint32_t n = arr.Length();
  if (n > static_cast<uint32_t>(maxLength)) {
    throwRange(env_, std::string(key) + ".length", "at most " + std::to_string(maxLength), std::to_string(n));
  }
  for (uint32_t a = 0; a < n; ++a) {
    const Napi::Value e = arr.Get(a);
    const double x = e.IsNumber() ? e.As<Napi::Number>().DoubleValue() : std::nan("");
    if (!(x >= static_cast<double>(min) && x <= static_cast<double>(max) && x == static_cast<double>(static_cast<int64_t>(x)))) {
      throwRange(env_, std::string(key) + "[" + std::to_string(a) + "]", elementWhat, describe(e));
    }
    out[a] = static_cast<int64_t>(x);
  }
  return static_cast<int>(n);
}

Matrix Fields::matrix(const char* rowsKey, int64_t minRows, const char* colsKey, const char* name) const {
  const Matrix m{integer(rowsKey, minRows, kMaxElements), integer(colsKey, 1, kMaxElements)};
  checkElements(env_, name, Dims{{{rowsKey, m.rows}, {colsKey, m.cols}}});
  return m;
}

int64_t Dims::elements() const {
  int64_t n = 1;
  for (const auto& d : dims) n *= d.second;
  return n;
}

std::string Dims::shape() const {
  std::string s = "[";
  for (size_t a = 0; a < dims.size(); ++a) s += (a ? ", " : "") + std::to_string(dims[a].second);
  return s + "]";
}

std::string Dims::position(int64_t flat) const {
  std::vector<int64_t> at(dims.size());
  for (size_t a = dims.size(); a-- > 0;) {
    at[a] = flat % dims[a].second;
    flat /= dims[a].second;
  }
  std::string s = "[";
  for (size_t a = 0; a < at.size(); ++a) s += (a ? ", " : "") + std::to_string(at[a]);
  return s + "]";
}

void checkElements(Napi::Env env, const char* name, const Dims& d) {
  int64_t n = 1;
  for (const auto& dim : d.dims) {
    // every size is already in [1, kMaxElements]; stop before the product can overflow int64
    n *= dim.second;
    if (n > kMaxElements) {
      std::string names;
      for (const auto& e : d.dims) names += (names.empty() ? "" : "·") + std::string(e.first);
      throwRange(env, name, names + " ≤ " + std::to_string(kMaxElements), d.shape());
    }
  }
}

template <class T>
void checkLength(Napi::Env env, const char* name, const ArrayArg<T>& arr, int64_t want, const std::string& what) {
  if (arr.length != want) throwRange(env, std::string(name) + ".length", std::to_string(want) + " (" + what + ")", std::to_string(arr.length));
}
template void checkLength<float>(Napi::Env, const char*, const ArrayArg<float>&, int64_t, const std::string&);
template void checkLength<int32_t>(Napi::Env, const char*, const ArrayArg<int32_t>&, int64_t, const std::string&);

template <class T>
void checkLength(Napi::Env env, const char* name, const ArrayArg<T>& arr, const Dims& d) {
  const int64_t want = d.elements();
  if (arr.length != want) checkLength(env, name, arr, want, "the product of " + d.shape());
}
template void checkLength<float>(Napi::Env, const char*, const ArrayArg<float>&, const Dims&);
template void checkLength<int32_t>(Napi::Env, const char*, const ArrayArg<int32_t>&, const Dims&);

// Σ x·0 is NaN exactly when some x is NaN or ±inf; unlike a per-element test, this loop vectorizes.
// (16 independent lanes: a single float sum would not be reordered into vectors without -ffast-math)
SACL_CHANNEL_LOOP static bool allFinite(const float* __restrict p, int64_t n) {
  float acc[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    for (int l = 0; l < 16; ++l) acc[l] += p[i + l] * 0.0f;
  }
  float tail = 0.0f;
  for (; i < n; ++i) tail += p[i] * 0.0f;
  for (int l = 0; l < 16; ++l) tail += acc[l];
  return tail == 0.0f;
}

void checkFinite(Napi::Env env, const char* name, const ArrayArg<float>& arr, const Dims& d) {
  if (allFinite(arr.data, arr.length)) return;
  for (int64_t i = 0; i < arr.length; ++i) {
    if (!std::isfinite(arr.data[i])) throwRange(env, name + d.position(i), "a finite number", numberText(arr.data[i]));
  }
}

void checkIndexRange(Napi::Env env, const char* name, const ArrayArg<int32_t>& arr, const Dims& d, int64_t limit,
                     const char* limitName) {
  // one branch-free pass (it vectorizes: small graph-op calls check thousands of indices), then the
  // search for the first bad entry only when there is one
  const uint32_t bound = static_cast<uint32_t>(std::min<int64_t>(limit, INT32_MAX));
  uint32_t bad = 0;
  for (int64_t i = 0; i < arr.length; ++i) bad |= static_cast<uint32_t>(arr.data[i]) >= bound;
  if (!bad) return;
  for (int64_t i = 0; i < arr.length; ++i) {
    const int32_t v = arr.data[i];
    if (v < 0 || v >= limit) {
      throwRange(env, name + d.position(i),
                 "an index in [0, " + std::to_string(limit) + ") (" + limitName + ")", std::to_string(v));
    }
  }
}

}  // namespace addon
}  // namespace sacl
