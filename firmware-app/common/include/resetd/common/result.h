// Result<T>: the value of a fallible domain operation, or an Error carrying a
// stable snake_case code (the API's error.code), a human message for logs and
// users, and optionally the offending field. Used at module boundaries.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace resetd {

struct Error {
  std::string code;     // stable, snake_case; e.g. "password_too_short"
  std::string message;  // human text; never contains a secret
  std::string field;    // optional: the request field at fault
  int retry_after_s = 0;  // for busy/throttled errors
};

template <typename T>
class Result {
 public:
  Result(T v) : v_(std::move(v)) {}                 // NOLINT(implicit)
  Result(Error e) : v_(std::move(e)) {}             // NOLINT(implicit)
  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<T>(v_); }
  const T& value() const { return std::get<T>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const Error& error() const { return std::get<Error>(v_); }

 private:
  std::variant<T, Error> v_;
};

struct Unit {};
using Status = Result<Unit>;
inline Status ok_status() { return Unit{}; }

inline Error make_error(std::string code, std::string message, std::string field = {}) {
  return Error{std::move(code), std::move(message), std::move(field), 0};
}

}  // namespace resetd
