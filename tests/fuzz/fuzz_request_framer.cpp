// libFuzzer target: the request framer (http/src/request_framer.h), the trust
// boundary in front of cpp-httplib. The first 4 bytes pick the limits (small
// ones reach every refusal with short inputs), the rest is what a client sent.
// Checks: no crash/UB; a refusal is 400, 414 or 431 with a code and a message;
// a framed request lies inside the input, its body at its end, and what httplib
// reads is the filtered head plus exactly those body bytes; framing depends on
// nothing past the request (its exact prefix frames the same), and no prefix of
// it is refused or framed early (the reactor frames as bytes arrive).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "request_framer.h"

using resetd::http::Frame;
using resetd::http::FrameLimits;
using resetd::http::frame_request;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void check_frame(const Frame& f, std::string_view in, const FrameLimits& lim) {
  switch (f.kind) {
    case Frame::Kind::Reject:
      check(f.status == 400 || f.status == 414 || f.status == 431);
      check(*f.code != '\0' && *f.message != '\0' && f.close_after);
      break;
    case Frame::Kind::Ready:
      check(f.consumed <= in.size() && f.body <= f.consumed && f.body <= lim.max_body);
      check(f.consumed - f.body <= lim.max_head);
      check(f.request.size() >= f.body && f.request.compare(f.request.size() - f.body, f.body,
                                                            in.substr(f.consumed - f.body, f.body)) == 0);
      check(f.request.size() >= f.body + 4 &&
            f.request.compare(f.request.size() - f.body - 4, 4, "\r\n\r\n") == 0);
      break;
    case Frame::Kind::NeedMore:
      if (f.consumed > 0) check(f.consumed > in.size() && f.body <= lim.max_body);
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  FrameLimits lim;
  if (data[0] & 1) {  // small limits
    lim.max_line = 1 + data[1] % 96;
    lim.max_headers = data[2] % 8;
    lim.max_head = 16 + data[3] * 2;
    lim.max_body = static_cast<size_t>(data[0] >> 1) * 4;
  }
  const std::string_view in(reinterpret_cast<const char*>(data) + 4, size - 4);
  const Frame f = frame_request(in, lim);
  check_frame(f, in, lim);
  if (f.kind != Frame::Kind::Ready) return 0;
  const Frame same = frame_request(in.substr(0, f.consumed), lim);
  check(same.kind == Frame::Kind::Ready && same.consumed == f.consumed && same.request == f.request &&
        same.close_after == f.close_after);
  for (size_t k = 0; k < f.consumed; k += 1 + f.consumed / 16) {
    const Frame part = frame_request(in.substr(0, k), lim);
    check(part.kind == Frame::Kind::NeedMore);
  }
  check(frame_request(in.substr(0, f.consumed - 1), lim).kind == Frame::Kind::NeedMore || f.consumed == 0);
  return 0;
}
