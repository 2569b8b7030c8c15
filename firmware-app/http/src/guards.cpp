// The pre-body request guards and header readers (see guards.h).
#include "guards.h"

#include <cctype>
#include <cstdint>
#include <sstream>

namespace resetd::http {

std::optional<Refusal> refuse_before_body(const httplib::Request& req) {
  if (req.has_header("Transfer-Encoding"))
    return Refusal{411, "length_required", "Chunked request bodies are not accepted; send Content-Length."};
  if (req.has_header("Content-Encoding"))
    return Refusal{415, "unsupported_encoding", "Compressed request bodies are not accepted."};
  if (req.get_header_value_count("Content-Length") > 1)
    return Refusal{400, "bad_request", "More than one Content-Length."};
  const bool has_len = req.has_header("Content-Length");
  uint64_t len = 0;  // 64-bit also on armhf: 2^32+1 must not wrap to 1
  if (has_len) {
    const std::string v = req.get_header_value("Content-Length");
    if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string::npos)
      return Refusal{400, "bad_request", "Invalid Content-Length."};
    len = static_cast<uint64_t>(std::stoull(v));
  }
  if (len > kMaxBody) return Refusal{413, "payload_too_large", "Request bodies are limited to 64 KiB."};
  if ((req.method == "POST" || req.method == "PUT" || req.method == "PATCH") && !has_len)
    return Refusal{411, "length_required", "Content-Length is required."};
  return std::nullopt;
}

std::string cookie_value(const httplib::Request& req, const std::string& name) {
  std::string found;
  int count = 0;
  for (size_t i = 0; i < req.get_header_value_count("Cookie"); ++i) {
    std::string all = req.get_header_value("Cookie", i);
    std::stringstream ss(all);
    std::string part;
    while (std::getline(ss, part, ';')) {
      size_t b = part.find_first_not_of(' ');
      if (b == std::string::npos) continue;
      part = part.substr(b);
      if (part.rfind(name + "=", 0) == 0 && count++ == 0) found = part.substr(name.size() + 1);
    }
  }
  // Twice: one was set by someone else (a sibling host's Domain= or Path=
  // cookie, sent first when its path is longer): trust neither.
  return count == 1 ? found : std::string();
}

bool is_json(const httplib::Request& req) {
  std::string ct = req.get_header_value("Content-Type");
  for (auto& ch : ct) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return ct.rfind("application/json", 0) == 0;
}

}  // namespace resetd::http
