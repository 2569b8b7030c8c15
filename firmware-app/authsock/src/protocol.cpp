#include "resetd/authsock/auth_socket.h"

namespace resetd::authsock {
namespace {
constexpr const char* kMagic = "resetd-auth 1";

bool clean_field(const std::string& s, size_t max) {
  if (s.size() > max) return false;
  for (char c : s)
    if (c == '\t' || c == '\n' || c == '\r' || c == '\0') return false;
  return true;
}

std::string one_line(std::string s) {
  for (auto& c : s)
    if (c == '\t' || c == '\n' || c == '\r' || c == '\0') c = ' ';
  return s;
}
}  // namespace

Result<std::string> encode_request(const AuthRequest& r) {
  if (!clean_field(r.service, 64) || !clean_field(r.rhost, 256) || !clean_field(r.username, 256))
    return make_error("bad_request", "service, host or username has a tab, line break or is too long");
  for (char c : r.password)
    if (c == '\n' || c == '\0') return make_error("bad_request", "the password has a line break");
  if (r.password.size() > 4096) return make_error("bad_request", "the password is too long");
  return std::string(kMagic) + "\t" + r.service + "\t" + r.rhost + "\t" + r.username + "\t" +
         r.password + "\n";
}

Result<AuthRequest> decode_request(const std::string& line) {
  AuthRequest r;
  size_t pos = 0;
  std::string fields[4];
  for (int i = 0; i < 4; ++i) {
    const size_t tab = line.find('\t', pos);
    if (tab == std::string::npos) return make_error("bad_request", "malformed request");
    fields[i] = line.substr(pos, tab - pos);
    pos = tab + 1;
  }
  if (fields[0] != kMagic) return make_error("bad_request", "unknown protocol");
  r.service = fields[1];
  r.rhost = fields[2];
  r.username = fields[3];
  r.password = line.substr(pos);
  if (line.find('\0') != std::string::npos) return make_error("bad_request", "malformed request");
  if (r.username.empty() || r.username.size() > 256 || r.service.size() > 64 || r.rhost.size() > 256 ||
      r.password.size() > 4096)
    return make_error("bad_request", "malformed request");
  return r;
}

std::string encode_reply(const AuthReply& r) {
  if (r.ok) return "ok\n";
  return "fail\t" + one_line(r.code) + "\t" + one_line(r.message) + "\n";
}

AuthReply decode_reply(const std::string& line) {
  AuthReply r;
  if (line == "ok") {
    r.ok = true;
    return r;
  }
  if (line.rfind("fail\t", 0) == 0) {
    const size_t tab = line.find('\t', 5);
    r.code = line.substr(5, tab == std::string::npos ? std::string::npos : tab - 5);
    if (tab != std::string::npos) r.message = line.substr(tab + 1);
    return r;
  }
  r.code = "bad_reply";
  r.message = "The service gave an answer this program does not understand.";
  return r;
}

}  // namespace resetd::authsock
