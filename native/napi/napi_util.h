// Shared N-API helpers: argument unwrapping with size checks, and errors that carry the
// same `code` vocabulary as lib/errors.ts (ERR_ARG, ERR_SHAPE, ERR_DTYPE, ERR_RANGE, ...).
// The TypeScript layer validates first; these checks are the second line, so that no call,
// however wrong, reads or writes out of bounds.
#pragma once

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <string>

namespace acr {
namespace napi {

[[noreturn]] inline void throw_error(Napi::Env env, const char* code, const std::string& msg) {
  Napi::Error err = Napi::Error::New(env, msg);
  err.Set("code", Napi::String::New(env, code));
  throw err;
}

template <typename T>
struct TypedArrayTraits;
template <>
struct TypedArrayTraits<float> {
  static constexpr napi_typedarray_type type = napi_float32_array;
  static constexpr const char* name = "Float32Array";
};
template <>
struct TypedArrayTraits<double> {
  static constexpr napi_typedarray_type type = napi_float64_array;
  static constexpr const char* name = "Float64Array";
};
template <>
struct TypedArrayTraits<int32_t> {
  static constexpr napi_typedarray_type type = napi_int32_array;
  static constexpr const char* name = "Int32Array";
};

// A view of a JS typed array's memory. Valid only during the current native call.
template <typename T>
struct View {
  T* data = nullptr;
  size_t length = 0;
};

template <typename T>
View<T> typed_array(const Napi::CallbackInfo& info, size_t index, const char* name) {
  Napi::Env env = info.Env();
  if (index >= info.Length() || !info[index].IsTypedArray())
    throw_error(env, "ERR_DTYPE", std::string(name) + ": expected a " + TypedArrayTraits<T>::name);
  Napi::TypedArray ta = info[index].As<Napi::TypedArray>();
  if (ta.TypedArrayType() != TypedArrayTraits<T>::type)
    throw_error(env, "ERR_DTYPE", std::string(name) + ": expected a " + TypedArrayTraits<T>::name);
  Napi::ArrayBuffer buf = ta.ArrayBuffer();
  if (buf.IsDetached()) throw_error(env, "ERR_ARG", std::string(name) + ": the ArrayBuffer is detached");
  View<T> v;
  v.length = ta.ElementLength();
  v.data = v.length ? reinterpret_cast<T*>(static_cast<uint8_t*>(buf.Data()) + ta.ByteOffset()) : nullptr;
  return v;
}

// Same, but the argument may be null/undefined (an optional input).
template <typename T>
View<T> optional_typed_array(const Napi::CallbackInfo& info, size_t index, const char* name) {
  if (index >= info.Length() || info[index].IsNull() || info[index].IsUndefined()) return View<T>{};
  return typed_array<T>(info, index, name);
}

inline double number(const Napi::CallbackInfo& info, size_t index, const char* name) {
  if (index >= info.Length() || !info[index].IsNumber())
    throw_error(info.Env(), "ERR_ARG", std::string(name) + ": expected a number");
  const double v = info[index].As<Napi::Number>().DoubleValue();
  if (!std::isfinite(v)) throw_error(info.Env(), "ERR_RANGE", std::string(name) + ": expected a finite number");
  return v;
}

// A whole number in [lo, hi].
inline int64_t integer(const Napi::CallbackInfo& info, size_t index, const char* name, int64_t lo, int64_t hi) {
  const double v = number(info, index, name);
  if (v != std::floor(v) || v < static_cast<double>(lo) || v > static_cast<double>(hi))
    throw_error(info.Env(), "ERR_RANGE",
                std::string(name) + ": expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return static_cast<int64_t>(v);
}

inline std::string string(const Napi::CallbackInfo& info, size_t index, const char* name) {
  if (index >= info.Length() || !info[index].IsString())
    throw_error(info.Env(), "ERR_ARG", std::string(name) + ": expected a string");
  return info[index].As<Napi::String>().Utf8Value();
}

template <typename T>
void require_length(Napi::Env env, const View<T>& v, size_t expected, const char* name) {
  if (v.length != expected)
    throw_error(env, "ERR_SHAPE", std::string(name) + ": expected " + std::to_string(expected) +
                                      " elements, got " + std::to_string(v.length));
}

// A typed array argument that must hold exactly `expected` elements.
template <typename T>
View<T> sized_array(const Napi::CallbackInfo& info, size_t index, const char* name, size_t expected) {
  View<T> v = typed_array<T>(info, index, name);
  require_length(info.Env(), v, expected, name);
  return v;
}

// Same for an optional argument: null/undefined gives an empty view, a typed array must fit.
template <typename T>
View<T> optional_sized_array(const Napi::CallbackInfo& info, size_t index, const char* name, size_t expected) {
  if (index >= info.Length() || info[index].IsNull() || info[index].IsUndefined()) return View<T>{};
  return sized_array<T>(info, index, name, expected);
}

}  // namespace napi

// Each kernel family adds its functions to the module's exports (native/napi/*_napi.cc).
void register_info(Napi::Env env, Napi::Object exports);
void register_loss(Napi::Env env, Napi::Object exports);
void register_asm(Napi::Env env, Napi::Object exports);
void register_nn(Napi::Env env, Napi::Object exports);

}  // namespace acr
