// libFuzzer target: the bounds resetd adds on top of cpp-httplib 0.11.4, driven
// through the same path a request takes in the server, by the http module's
// interfaces only: the framer (request_framer.h) frames the bytes with the
// server's limits, the adapter (httplib_adapter.h, HttplibAdapter::answer)
// parses them into httplib's Request and writes the answer, and the handlers
// are wired like server.cpp's: pre-routing runs the pre-body guards
// (guards.h, refuse_before_body), the handler stands in for the routes.
//
// Byte 0 picks the path: even = framed (what every request goes through),
// odd = the rest straight to the adapter (its own bounds when the framer is
// bypassed: a request line over 8192 bytes -> 414, a header line over 8192
// -> 400, a form body over 8192 -> 413, multipart without boundary -> 400).
//
// Checks (abort = finding), besides no crash/UB/leak:
//  - a refusal of the guards is a status the spec's error table knows, in
//    400..415, and its answer closes the connection;
//  - what the routes see passed the guards: no Transfer-Encoding or
//    Content-Encoding, at most one Content-Length, <= 64 KiB, present for
//    POST/PUT/PATCH; no CR/LF in the path; one REMOTE_ADDR, the peer's;
//  - framed: when the framer trusts the framing (no close_after) and a
//    route runs, the Content-Length the route sees is the body the framer
//    cut, and a body method's body is exactly those bytes (no smuggling
//    between the two parsers); Range / Expect never reach a route; when the
//    framer does not trust it, the answer closes the connection;
//  - the answer: "HTTP/1.1 NNN " status line, well-formed "Name: value" lines
//    with no stray CR/LF (a header value set from the request cannot inject
//    a line), Content-Length equal to the body sent, no body for HEAD;
//  - the session cookie reader never returns a ';', the constant-time CSRF
//    comparison agrees with ==, a JSON body parses to an object or is
//    refused as malformed_json (400).
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "api.h"
#include "guards.h"
#include "httplib_adapter.h"
#include "request_framer.h"
#include "resetd/crypto/crypto.h"

using namespace resetd::http;
using resetd::make_error;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool body_method(const std::string& m) { return m == "POST" || m == "PUT" || m == "PATCH"; }

struct Seen {
  std::optional<Refusal> refusal;
  bool routed = false;
  std::string method, content_length, body;
  bool has_content_length = false, multipart = false, framed = false;
};

// One adapter for the run, wired like server.cpp; `seen` is per input.
thread_local Seen* seen = nullptr;

HttplibAdapter& adapter() {
  static HttplibAdapter a = [] {
    HttpHandlers h;
    h.pre_routing = [](const httplib::Request& req, httplib::Response& res) {
      auto r = refuse_before_body(req);
      if (!r) return false;
      check(r->status >= 400 && r->status <= 415);
      check(status_for(r->code) == r->status);
      check(r->message != nullptr && r->message[0] != '\0');
      seen->refusal = r;
      res.set_header("Connection", "close");
      send_error(res, r->status, make_error(r->code, r->message));
      return true;
    };
    h.handler = [](const httplib::Request& req, httplib::Response& res) {
      Seen& s = *seen;
      s.routed = true;
      check(!req.has_header("Transfer-Encoding") && !req.has_header("Content-Encoding"));
      check(req.get_header_value_count("Content-Length") <= 1);
      if (body_method(req.method)) check(req.has_header("Content-Length"));
      s.has_content_length = req.has_header("Content-Length");
      if (s.has_content_length) {
        s.content_length = req.get_header_value("Content-Length");
        check(std::strtoull(s.content_length.c_str(), nullptr, 10) <= kMaxBody);
      }
      check(req.path.find_first_of("\r\n") == std::string::npos);
      if (s.framed) check(!req.has_header("Range") && !req.has_header("If-Range") && !req.has_header("Expect"));
      check(req.get_header_value_count("REMOTE_ADDR") == 1 && req.get_header_value("REMOTE_ADDR") == "192.0.2.7");
      s.method = req.method;
      s.body = req.body;
      s.multipart = req.is_multipart_form_data();
      const std::string session = cookie_value(req, "resetd_session");
      check(session.find(';') == std::string::npos);
      const std::string sent = req.get_header_value("X-CSRF-Token");
      check(resetd::crypto::equal_ct(sent, session) == (sent == session));
      (void)is_json(req);
      if (!req.body.empty()) {
        try {
          json j = body_object(req.body);
          check(j.is_object());
        } catch (const ApiError& e) {
          check(e.status == 400 && e.error.code == "malformed_json");
        }
      }
      // A route echoing request bytes into a header: set_header must keep it one line.
      res.set_header("X-Echo", req.path);
      res.set_header("X-Echo-Agent", req.get_header_value("User-Agent"));
      res.set_content(req.path, "text/plain");
    };
    h.on_error = [](const httplib::Request&, httplib::Response& res) {
      if (!res.body.empty()) return;
      send_error(res, res.status, make_error("bad_request", "The request could not be handled."));
    };
    h.on_exception = [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
      send_error(res, 500, make_error("internal_error", "Something went wrong; nothing was changed."));
    };
    return HttplibAdapter(std::move(h), 5, 100);
  }();
  return a;
}

// `sent`: the bytes the adapter parsed (its method is their first word).
void check_answer(const Answer& a, const Seen& s, std::string_view sent) {
  check(a.status >= 100 && a.status <= 599);
  check(a.head.rfind("HTTP/1.1 ", 0) == 0 && a.head.size() >= 13);
  check(a.head.compare(9, 3, std::to_string(a.status)) == 0);
  check(a.head.size() >= 4 && a.head.compare(a.head.size() - 4, 4, "\r\n\r\n") == 0);
  // Every line after the status line is "Name: value", with no CR or LF inside.
  std::optional<std::string> content_length;
  size_t pos = a.head.find("\r\n") + 2;
  while (pos < a.head.size() - 2) {
    const size_t e = a.head.find("\r\n", pos);
    check(e != std::string::npos);
    const std::string_view line(a.head.data() + pos, e - pos);
    check(line.find_first_of("\r\n") == std::string_view::npos);
    const size_t colon = line.find(": ");
    check(colon != std::string_view::npos && colon > 0);
    if (line.substr(0, colon) == "Content-Length") content_length = std::string(line.substr(colon + 2));
    pos = e + 2;
  }
  check(content_length.has_value());
  // A HEAD answer carries the length of the body it leaves out (when the adapter got as far
  // as the method; a head it could not split is answered in full).
  const std::string_view method = sent.substr(0, sent.find_first_of(" \t\r"));  // the adapter splits at tabs too
  if (*content_length != std::to_string(a.body.size())) check(method == "HEAD" && a.body.empty());
  if (s.refusal) check(a.close && a.status == s.refusal->status);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool raw = data[0] & 1;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  Seen s;
  seen = &s;
  if (raw) {
    const Answer a = adapter().answer(Inbound{in, "192.0.2.7", 40000, "127.0.0.1", 8443, false});
    check_answer(a, s, in);
    seen = nullptr;
    return 0;
  }
  s.framed = true;
  FrameLimits lim;  // the server's: edge's defaults with max_body = kMaxBody
  lim.max_body = kMaxBody;
  const Frame f = frame_request(in, lim);
  if (f.kind != Frame::Kind::Ready) {
    seen = nullptr;
    return 0;  // refused or incomplete: the reactor answers / waits (fuzz_request_framer)
  }
  const Answer a =
      adapter().answer(Inbound{f.request, "192.0.2.7", 40000, "127.0.0.1", 8443, f.close_after});
  check_answer(a, s, f.request);
  if (f.close_after) check(a.close);
  if (s.routed && !f.close_after) {
    // The two parsers agree on where the request ends.
    if (s.has_content_length) check(std::strtoull(s.content_length.c_str(), nullptr, 10) == f.body);
    else check(f.body == 0);
    if (body_method(s.method) && !s.multipart) check(s.body == in.substr(f.consumed - f.body, f.body));
  }
  seen = nullptr;
  return 0;
}
