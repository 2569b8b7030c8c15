// RequestFramer: finds where one HTTP/1.1 request ends in the bytes read so
// far, before the adapter (httplib_adapter.h) parses it into httplib's
// Request, which percent-decodes every header value as httplib 0.11.4 did;
// this is the bound and the filter in front of it. Pure functions of
// their input: no I/O, thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace resetd::http {

struct FrameLimits {
  size_t max_line = 8 * 1024;    // request line or one header line, CRLF excluded
  size_t max_headers = 100;      // header lines
  size_t max_head = 32 * 1024;   // request line + headers + blank line
  size_t max_body = 64 * 1024;   // bodies above this are refused by the routes' guard
};

struct Frame {
  enum class Kind {
    NeedMore,  // incomplete; `wants_continue` says the client waits for 100 Continue
    Ready,     // `consumed` bytes of the input form one request; `request` is what the adapter parses
    Reject,    // answer `status` / `code` and close
  };
  Kind kind = Kind::NeedMore;
  size_t consumed = 0;
  size_t body = 0;  // body bytes at the end of `consumed`
  std::string request;  // filtered head + body
  // The framing is only trusted up to this request: the routes' guard refuses
  // it (Transfer-Encoding, a bad or duplicate Content-Length, a body without
  // length) without reading its body, so the connection must close after it.
  bool close_after = false;
  bool wants_continue = false;
  bool started = false;  // at least one byte of a request line arrived
  int status = 0;
  const char* code = "";
  const char* message = "";
};

// Frames the first request in `in`. Leading blank lines are skipped (RFC 9112
// §2.2). What the filter does to the head the adapter gets:
//  - Range / If-Range dropped: every answer is the full body (no multipart
//    built in memory from a client's list of ranges);
//  - Expect dropped: the connection layer answers 100 Continue itself;
//  - REMOTE_ADDR / REMOTE_PORT / LOCAL_ADDR / LOCAL_PORT dropped: the adapter adds
//    its own, and a client's copy would come first;
//  - every '%' in a header value sent as "%25", so the adapter's percent-decoding
//    of header values gives back exactly the bytes the client sent.
// Refused: a line over max_line (414 for the request line, 431 for a header),
// more than max_headers headers or a head over max_head (431), a bare LF or CR,
// a control character in a header, folded lines or a malformed header line (400).
Frame frame_request(std::string_view in, const FrameLimits& lim);

}  // namespace resetd::http
