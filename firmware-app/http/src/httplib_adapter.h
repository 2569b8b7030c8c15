// HttplibAdapter: the one place that turns a framed request into cpp-httplib's
// Request and its Response back into bytes, with only httplib's public API
// (Request, Response, Headers and their methods). A request in, an answer
// out: no sockets, no threads, no httplib::Server. The connection layer
// (edge.h) frames and sends; the routes (server.cpp, routes_*.cpp) see the
// same httplib::Request / Response as before.
//
// What it does is what httplib 0.11.4's Server::process_request did with the
// handlers resetd registers (one handler for every method, a pre-routing
// handler, an error handler, an exception handler), so a change of httplib
// cannot change the bytes on the wire, only the types:
//  - request line: method, target and version split at spaces; an unknown
//    method or a version other than HTTP/1.0 / 1.1, more than one '?' -> 400;
//    a request line over 8192 bytes (CRLF included) -> 414; the path
//    percent-decoded ('%XX', '%uXXXX'), query parameters split at '&' / '='
//    and decoded with '+' as space, a repeated "k=v" pair kept once;
//  - headers: "Name: value", a line without ':' or with an empty value
//    skipped, a line over 8192 bytes -> 400, values percent-decoded (the
//    framer sent each '%' of a value as "%25", so they come back as sent);
//    REMOTE_ADDR / REMOTE_PORT / LOCAL_ADDR / LOCAL_PORT added;
//  - body: read for POST, PUT, PATCH, DELETE and PRI only (the framed body),
//    none for multipart/form-data (no route takes files; a multipart type
//    without boundary= is 400), form-urlencoded bodies also parsed into
//    params (over 8192 bytes: 413);
//  - routing: pre-routing first; then the handler for GET, HEAD, POST, PUT,
//    DELETE, OPTIONS and PATCH when the path has no CR or LF (httplib's ".*"),
//    else 404; other methods 400; an exception goes to the exception handler;
//  - answer: the error handler for every status >= 400; bodies of a
//    compressible type (text/*, JSON, JS, SVG, XML) compressed with br or
//    gzip when Accept-Encoding names it (br first), unless the handler set
//    Content-Encoding itself; Content-Length, Content-Type text/plain for an
//    untyped body, "Connection: close" or "Keep-Alive: timeout=T, max=N";
//    no body for HEAD.
// Range and Expect never reach here (request_framer.h drops them).
//
// Thread-safety: answer() is const and may run on many threads at once; the
// handlers must allow that.
#pragma once

#include <httplib.h>

#include <cstddef>
#include <exception>
#include <functional>
#include <string>
#include <string_view>

// The adapter reproduces what httplib 0.11.4 (Debian 12) did inside
// process_request. On another version re-check, against its httplib.h:
// Request / Response / Headers (fields, set_header refusing CR/LF,
// get_header_value, the case-insensitive multimap), and whether the routes'
// use of them still means the same; then update the list in this header.
static_assert(std::string_view(CPPHTTPLIB_VERSION) == "0.11.4",
              "cpp-httplib is not 0.11.4: re-check httplib_adapter.h's use of Request/Response "
              "(see the comment above this assert) before changing the version here");

namespace resetd::http {

// A request in: the framed bytes (request_framer.h: head, blank line, body)
// and the connection's addresses.
struct Inbound {
  std::string_view bytes;
  std::string peer;
  int peer_port = 0;
  std::string local;
  int local_port = 0;
  bool last = false;  // the connection closes after this answer (Connection: close)
};

// An answer out: the head (status line, headers, blank line) and the body to
// send after it (empty for HEAD). `close`: the client asked for the end of
// the connection (Connection: close, HTTP/1.0 without keep-alive) or the
// answer says Connection: close.
struct Answer {
  std::string head;
  std::string body;
  int status = 0;
  bool close = false;
};

struct HttpHandlers {
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;
  // Before the body is read: true when it answered (the handler is skipped).
  std::function<bool(const httplib::Request&, httplib::Response&)> pre_routing;
  Handler handler;   // every method httplib routes, every path
  Handler on_error;  // any answer with a status >= 400, before it is written
  std::function<void(const httplib::Request&, httplib::Response&, std::exception_ptr)> on_exception;
};

class HttplibAdapter {
 public:
  HttplibAdapter(HttpHandlers h, int keep_alive_sec, size_t keep_alive_max)
      : h_(std::move(h)), keep_alive_sec_(keep_alive_sec), keep_alive_max_(keep_alive_max) {}
  Answer answer(const Inbound& in) const;

 private:
  void route(httplib::Request& req, httplib::Response& res, std::string_view body, bool& routed) const;
  HttpHandlers h_;
  int keep_alive_sec_;
  size_t keep_alive_max_;
};

}  // namespace resetd::http
