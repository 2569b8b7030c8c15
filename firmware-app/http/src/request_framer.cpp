// See request_framer.h.
#include "request_framer.h"

#include <algorithm>
#include <cctype>

namespace resetd::http {
namespace {

bool is_tchar(unsigned char c) {
  return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

Frame reject(int status, const char* code, const char* message) {
  Frame f;
  f.kind = Frame::Kind::Reject;
  f.status = status;
  f.code = code;
  f.message = message;
  f.close_after = true;
  return f;
}

Frame too_large() {
  return reject(431, "headers_too_large", "The request's headers are too large.");
}
Frame malformed() { return reject(400, "bad_request", "The request is malformed."); }

}  // namespace

Frame frame_request(std::string_view in, const FrameLimits& lim) {
  size_t pos = 0;
  while (in.size() - pos >= 2 && in[pos] == '\r' && in[pos + 1] == '\n') pos += 2;
  std::string head;
  head.reserve(std::min(in.size(), lim.max_head) + 64);
  std::string method;
  size_t headers = 0, cl_count = 0;
  std::string_view cl_value;
  bool te = false, expect_continue = false, first = true;
  for (size_t lpos = pos;;) {
    const size_t e = in.find('\n', lpos);
    if (e == std::string_view::npos) {
      Frame f;
      f.started = in.size() > pos;
      if (in.size() - lpos > lim.max_line + 1)
        return first ? reject(414, "uri_too_long", "The request line is too long.") : too_large();
      if (in.size() > lim.max_head) return too_large();
      return f;
    }
    if (e + 1 > lim.max_head) return too_large();
    if (e == lpos || in[e - 1] != '\r') return malformed();  // bare LF
    const std::string_view line = in.substr(lpos, e - 1 - lpos);
    lpos = e + 1;
    if (line.size() > lim.max_line)
      return first ? reject(414, "uri_too_long", "The request line is too long.") : too_large();
    for (char ch : line) {
      const auto c = static_cast<unsigned char>(ch);
      if ((c < 0x20 && c != '\t') || c == 0x7f) return malformed();
    }
    if (first) {
      first = false;
      const size_t sp = line.find(' ');
      if (line.empty() || sp == 0 || sp == std::string_view::npos) return malformed();
      method = line.substr(0, sp);
      head.append(line).append("\r\n");
      continue;
    }
    if (line.empty()) {
      // End of the head: now the body.
      const size_t head_len = lpos;
      Frame f;
      f.started = true;
      size_t body = 0;
      if (te || cl_count > 1) {
        f.close_after = true;
      } else if (cl_count == 1) {
        const bool digits = !cl_value.empty() && cl_value.size() <= 18 &&
                            cl_value.find_first_not_of("0123456789") == std::string_view::npos;
        const uint64_t n = digits ? std::stoull(std::string(cl_value)) : 0;
        if (!digits || n > lim.max_body) f.close_after = true;
        else body = static_cast<size_t>(n);
      } else if (method == "POST" || method == "PUT" || method == "PATCH") {
        f.close_after = true;
      }
      head.append("\r\n");
      f.consumed = head_len + body;
      f.body = body;
      if (in.size() < f.consumed) {
        f.kind = Frame::Kind::NeedMore;
        f.wants_continue = expect_continue;
        f.request = std::move(head);
        return f;
      }
      f.kind = Frame::Kind::Ready;
      f.request = std::move(head);
      f.request.append(in.substr(head_len, body));
      return f;
    }
    if (++headers > lim.max_headers) return too_large();
    if (line[0] == ' ' || line[0] == '\t') return malformed();  // obsolete folding
    const size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos) return malformed();
    const std::string_view name = line.substr(0, colon);
    for (char ch : name)
      if (!is_tchar(static_cast<unsigned char>(ch))) return malformed();
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (iequals(name, "Range") || iequals(name, "If-Range") || iequals(name, "REMOTE_ADDR") ||
        iequals(name, "REMOTE_PORT") || iequals(name, "LOCAL_ADDR") || iequals(name, "LOCAL_PORT"))
      continue;
    if (iequals(name, "Expect")) {
      expect_continue = expect_continue || iequals(value, "100-continue");
      continue;
    }
    if (iequals(name, "Content-Length")) {
      ++cl_count;
      cl_value = value;
    }
    if (iequals(name, "Transfer-Encoding")) te = true;
    head.append(name).append(": ");
    for (char ch : value) {
      if (ch == '%') head.append("%25");
      else head.push_back(ch);
    }
    head.append("\r\n");
  }
}

}  // namespace resetd::http
