// See httplib_adapter.h. Only httplib's public Request / Response API is used
// here; the parsing and writing rules are 0.11.4's process_request.
#include "httplib_adapter.h"

#include <brotli/encode.h>
#include <zlib.h>

#include <array>
#include <cstdio>
#include <set>

namespace resetd::http {
namespace {

constexpr size_t kMaxLine = 8192;      // httplib: CPPHTTPLIB_REQUEST_URI_MAX_LENGTH / _HEADER_MAX_LENGTH
constexpr size_t kMaxFormBody = 8192;  // httplib: CPPHTTPLIB_FORM_URL_ENCODED_PAYLOAD_MAX_LENGTH

bool space_or_tab(char c) { return c == ' ' || c == '\t'; }

// Calls fn for each part of [b, e) between `d`s, spaces and tabs trimmed,
// empty parts left out.
template <typename F>
void split(std::string_view s, char d, F fn) {
  size_t beg = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i < s.size() && s[i] != d) continue;
    size_t l = beg, r = i;
    while (l < r && space_or_tab(s[l])) ++l;
    while (r > l && space_or_tab(s[r - 1])) --r;
    if (l < r) fn(s.substr(l, r - l));
    beg = i + 1;
  }
}

bool hex_digits(std::string_view s, size_t i, size_t n, int& val) {
  if (i + n > s.size()) return false;
  val = 0;
  for (size_t k = i; k < i + n; ++k) {
    const char c = s[k];
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    else return false;
    val = val * 16 + v;
  }
  return true;
}

void append_utf8(std::string& out, int cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0xD800 || cp >= 0xE000) {  // 4 hex digits: at most 0xFFFF
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }  // a lone surrogate: nothing
}

// '%XX' and '%uXXXX' decoded; a '%' that starts neither is kept.
std::string decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    int v = 0;
    if (s[i] == '%' && i + 1 < s.size() && s[i + 1] == 'u' && hex_digits(s, i + 2, 4, v)) {
      append_utf8(out, v);
      i += 5;
    } else if (s[i] == '%' && i + 1 < s.size() && s[i + 1] != 'u' && hex_digits(s, i + 1, 2, v)) {
      out += static_cast<char>(v);
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

void parse_query(std::string_view s, httplib::Params& params) {
  std::set<std::string_view> seen;
  split(s, '&', [&](std::string_view kv) {
    if (!seen.insert(kv).second) return;
    std::string_view key, val;
    bool have_key = false;
    split(kv, '=', [&](std::string_view part) {
      if (!have_key) {
        key = part;
        have_key = true;
      } else {
        val = part;
      }
    });
    if (!key.empty()) params.emplace(decode(key, true), decode(val, true));
  });
}

bool parse_request_line(std::string_view line, httplib::Request& req) {
  size_t count = 0;
  split(line, ' ', [&](std::string_view part) {
    if (count == 0) req.method = part;
    else if (count == 1) req.target = part;
    else if (count == 2) req.version = part;
    ++count;
  });
  if (count != 3) return false;
  static const std::set<std::string> kMethods{"GET",     "HEAD",    "POST",  "PUT",   "DELETE",
                                               "CONNECT", "OPTIONS", "TRACE", "PATCH", "PRI"};
  if (!kMethods.contains(req.method)) return false;
  if (req.version != "HTTP/1.1" && req.version != "HTTP/1.0") return false;
  if (const size_t hash = req.target.find('#'); hash != std::string::npos) req.target.erase(hash);
  count = 0;
  split(req.target, '?', [&](std::string_view part) {
    if (count == 0) req.path = decode(part, false);
    else if (count == 1) parse_query(part, req.params);
    ++count;
  });
  return count <= 2;
}

// The header lines of a head (request line and blank line excluded).
bool parse_headers(std::string_view lines, httplib::Headers& headers) {
  while (!lines.empty()) {
    const size_t eol = lines.find("\r\n");
    if (eol == std::string_view::npos) return true;  // not CRLF-terminated: skipped (the framer refuses it)
    if (eol + 2 > kMaxLine) return false;
    std::string_view line = lines.substr(0, eol);
    lines.remove_prefix(eol + 2);
    while (!line.empty() && space_or_tab(line.back())) line.remove_suffix(1);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    size_t v = colon + 1;
    while (v < line.size() && space_or_tab(line[v])) ++v;
    if (v == line.size()) continue;  // an empty value: httplib drops the header
    headers.emplace(std::string(line.substr(0, colon)), decode(line.substr(v), false));
  }
  return true;
}

bool routed_method(const std::string& m) {
  return m == "GET" || m == "HEAD" || m == "POST" || m == "PUT" || m == "DELETE" || m == "OPTIONS" ||
         m == "PATCH";
}

bool has_body(const std::string& m) {
  return m == "POST" || m == "PUT" || m == "PATCH" || m == "PRI" || m == "DELETE";
}

const char* reason(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocol";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Entity";
    case 423: return "Locked";
    case 425: return "Too Early";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    default: return "Internal Server Error";
  }
}

// httplib compares the whole Content-Type for these, parameters included.
bool compressible(const std::string& ct) {
  return ct == "image/svg+xml" || ct == "application/javascript" || ct == "application/json" ||
         ct == "application/xml" || ct == "application/protobuf" || ct == "application/xhtml+xml" ||
         (ct.rfind("text/", 0) == 0 && ct != "text/event-stream");
}

bool gzip(const std::string& in, std::string& out) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) return false;
  out.resize(deflateBound(&zs, static_cast<uLong>(in.size())));
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return rc == Z_STREAM_END;
}

bool brotli(const std::string& in, std::string& out) {
  size_t n = BrotliEncoderMaxCompressedSize(in.size());
  if (n == 0) return false;
  out.resize(n);
  if (!BrotliEncoderCompress(BROTLI_DEFAULT_QUALITY, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, in.size(),
                             reinterpret_cast<const uint8_t*>(in.data()), &n,
                             reinterpret_cast<uint8_t*>(out.data())))
    return false;
  out.resize(n);
  return true;
}

void compress(const httplib::Request& req, httplib::Response& res) {
  if (res.body.empty() || res.has_header("Content-Encoding")) return;  // the handler encoded it
  if (!compressible(res.get_header_value("Content-Type"))) return;
  const std::string accept = req.get_header_value("Accept-Encoding");
  std::string packed;
  if (accept.find("br") != std::string::npos) {
    if (!brotli(res.body, packed)) return;
    res.body.swap(packed);
    res.set_header("Content-Encoding", "br");
  } else if (accept.find("gzip") != std::string::npos) {
    if (!gzip(res.body, packed)) return;
    res.body.swap(packed);
    res.set_header("Content-Encoding", "gzip");
  }
}

std::string lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

}  // namespace

void HttplibAdapter::route(httplib::Request& req, httplib::Response& res, std::string_view body,
                           bool& routed) const {
  if (h_.pre_routing && h_.pre_routing(req, res)) {
    routed = true;
    return;
  }
  if (has_body(req.method)) {
    if (req.is_multipart_form_data()) {
      // httplib parses parts into req.files and leaves body empty; no route takes files.
      if (req.get_header_value("Content-Type").find("boundary=") == std::string::npos) {
        res.status = 400;
        return;
      }
    } else {
      req.body = body;
      if (req.get_header_value("Content-Type").rfind("application/x-www-form-urlencoded", 0) == 0) {
        if (req.body.size() > kMaxFormBody) {
          res.status = 413;
          return;
        }
        parse_query(req.body, req.params);
      }
    }
  }
  if (!routed_method(req.method)) {
    res.status = 400;
    return;
  }
  // httplib matched the path against ".*", which stops at CR and LF.
  if (req.path.find_first_of("\r\n") != std::string::npos) return;
  h_.handler(req, res);
  routed = true;
}

Answer HttplibAdapter::answer(const Inbound& in) const {
  httplib::Request req;
  httplib::Response res;
  res.version = "HTTP/1.1";
  Answer a;
  bool routed = false;

  const std::string_view bytes = in.bytes;
  const size_t line_end = bytes.find("\r\n");
  const size_t head_end = bytes.find("\r\n\r\n");
  if (line_end == std::string_view::npos || head_end == std::string_view::npos) {
    res.status = 400;
  } else if (line_end + 2 > kMaxLine) {
    res.status = 414;
  } else if (!parse_request_line(bytes.substr(0, line_end), req) ||
             !parse_headers(bytes.substr(line_end + 2, head_end + 2 - (line_end + 2)), req.headers)) {
    res.status = 400;
  } else {
    if (req.get_header_value("Connection") == "close") a.close = true;
    if (req.version == "HTTP/1.0" && req.get_header_value("Connection") != "Keep-Alive") a.close = true;
    req.remote_addr = in.peer;
    req.remote_port = in.peer_port;
    req.set_header("REMOTE_ADDR", req.remote_addr);
    req.set_header("REMOTE_PORT", std::to_string(req.remote_port));
    req.local_addr = in.local;
    req.local_port = in.local_port;
    req.set_header("LOCAL_ADDR", req.local_addr);
    req.set_header("LOCAL_PORT", std::to_string(req.local_port));
    try {
      route(req, res, bytes.substr(head_end + 4), routed);
    } catch (...) {
      if (h_.on_exception) {
        h_.on_exception(req, res, std::current_exception());
        routed = true;
      } else {
        res.status = 500;
      }
    }
  }
  if (res.status == -1) res.status = routed ? 200 : 404;

  bool encode = routed;
  if (res.status >= 400 && h_.on_error) {
    h_.on_error(req, res);
    encode = true;
  }
  if (encode && !res.body.empty()) {
    compress(req, res);
    res.set_header("Content-Length", std::to_string(res.body.size()));
  }
  if (in.last || req.get_header_value("Connection") == "close") {
    res.set_header("Connection", "close");
  } else {
    res.set_header("Keep-Alive", "timeout=" + std::to_string(keep_alive_sec_) +
                                     ", max=" + std::to_string(keep_alive_max_));
  }
  if (!res.has_header("Content-Type") && !res.body.empty()) res.set_header("Content-Type", "text/plain");
  if (!res.has_header("Content-Length") && res.body.empty()) res.set_header("Content-Length", "0");
  if (!res.has_header("Accept-Ranges") && req.method == "HEAD") res.set_header("Accept-Ranges", "bytes");

  std::array<char, 64> line{};
  std::snprintf(line.data(), line.size(), "HTTP/1.1 %d %s\r\n", res.status, reason(res.status));
  a.head = line.data();
  for (const auto& [k, v] : res.headers) {
    a.head.append(k).append(": ").append(v).append("\r\n");
    if (lower(k) == "connection" && lower(v) == "close") a.close = true;
  }
  a.head.append("\r\n");
  a.status = res.status;
  if (req.method != "HEAD") a.body = std::move(res.body);
  return a;
}

}  // namespace resetd::http
