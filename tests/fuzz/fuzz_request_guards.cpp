// libFuzzer target: the request head guards of http/ (guards.h) on requests
// built from fuzz bytes. The head is "METHOD PATH\r\n" followed by header
// lines that cpp-httplib's own read_headers() parses (so header values are
// percent-decoded exactly as the server sees them), then the body.
// Checks: no crash/UB, and every refusal is one the spec's error table knows
// with a status in 400–415, and an accepted head satisfies the invariants the
// body reader relies on (Content-Length present for POST/PUT/PATCH, ≤ 64 KiB);
// the session cookie reader and the constant-time CSRF comparison agree with
// plain string equality.
#include <httplib.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "api.h"
#include "guards.h"
#include "resetd/crypto/crypto.h"

// Exported by Debian's libcpp-httplib.so.0.11 (the server's own header
// parser: line limits, percent-decoding of values) but not declared in the
// split httplib.h.
namespace httplib::detail {
bool read_headers(Stream& strm, Headers& headers);
}  // namespace httplib::detail

using namespace resetd::http;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  httplib::Request req;
  size_t eol = in.find('\n');
  std::string line = in.substr(0, eol);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  size_t sp = line.find(' ');
  req.method = line.substr(0, sp);
  req.path = sp == std::string::npos ? "/" : line.substr(sp + 1);
  req.remote_addr = "127.0.0.1";
  std::string rest = eol == std::string::npos ? std::string() : in.substr(eol + 1);
  size_t end = rest.find("\r\n\r\n");
  std::string head = end == std::string::npos ? rest + "\r\n\r\n" : rest.substr(0, end + 4);
  req.body = end == std::string::npos ? std::string() : rest.substr(end + 4);

  httplib::detail::BufferStream bs;
  bs.write(head.data(), head.size());
  if (!httplib::detail::read_headers(bs, req.headers)) return 0;  // httplib answers 400 itself

  auto refusal = refuse_before_body(req);
  if (refusal) {
    check(refusal->status >= 400 && refusal->status <= 415);
    check(status_for(refusal->code) == refusal->status);
    check(refusal->message != nullptr && refusal->message[0] != '\0');
  } else {
    check(!req.has_header("Transfer-Encoding") && !req.has_header("Content-Encoding"));
    check(req.get_header_value_count("Content-Length") <= 1);
    if (req.method == "POST" || req.method == "PUT" || req.method == "PATCH")
      check(req.has_header("Content-Length"));
    if (req.has_header("Content-Length"))
      check(std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10) <= kMaxBody);
  }

  const std::string session = cookie_value(req, "resetd_session");
  check(session.find(';') == std::string::npos);
  // CSRF: the header is compared in constant time with the session's token.
  const std::string sent = req.get_header_value("X-CSRF-Token");
  check(resetd::crypto::equal_ct(sent, session) == (sent == session));
  (void)is_json(req);
  if (!refusal && !req.body.empty()) {
    try {
      json j = body_object(req.body);
      check(j.is_object());
    } catch (const ApiError& e) {
      check(e.status == 400 && e.error.code == "malformed_json");
    }
  }
  return 0;
}
