// Internal to http/: the checks on a request's head that run before httplib
// reads the body (0.11.4 lacks them), and the header readers the dispatcher
// uses. Pure functions of the request; thread-safe. Exposed through this
// internal header (not include/) so tests/fuzz can drive them with
// httplib::Request objects while httplib stays inside http/.
#pragma once

#include <httplib.h>

#include <cstddef>
#include <optional>
#include <string>

namespace resetd::http {

inline constexpr size_t kMaxBody = 64 * 1024;

// Why a request is refused before its body is read (status + spec error code).
struct Refusal {
  int status;
  const char* code;
  const char* message;
};

// nullopt when the head may proceed to routing; otherwise the refusal.
std::optional<Refusal> refuse_before_body(const httplib::Request& req);

// Value of cookie `name` from every Cookie header; empty when absent or sent
// more than once (a second one was tossed in by another host: trust neither).
std::string cookie_value(const httplib::Request& req, const std::string& name);

// Content-Type is application/json (any case, parameters allowed).
bool is_json(const httplib::Request& req);

}  // namespace resetd::http
