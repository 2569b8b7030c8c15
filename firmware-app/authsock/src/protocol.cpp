#include "resetd/authsock/auth_socket.h"

namespace resetd::authsock {
namespace {
constexpr const char* kMagic1 = "resetd-auth 1";
constexpr const char* kMagic2 = "resetd-auth 2";

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
  if (!clean_field(r.service, 64) || !clean_field(r.rhost, 256) || !clean_field(r.username, 256) ||
      !clean_field(r.tty, 64) || !clean_field(r.ruser, 256) || !clean_field(r.uid, 10))
    return make_error("bad_request", "service, host, tty, user or uid has a tab, line break or is too long");
  for (char c : r.password)
    if (c == '\n' || c == '\0') return make_error("bad_request", "the password has a line break");
  if (r.password.size() > 4096) return make_error("bad_request", "the password is too long");
  return std::string(kMagic2) + "\t" + r.service + "\t" + r.rhost + "\t" + r.tty + "\t" + r.ruser + "\t" +
         r.uid + "\t" + r.username + "\t" + r.password + "\n";
}

Result<AuthRequest> decode_request(const std::string& line) {
  AuthRequest r;
  if (line.find('\0') != std::string::npos) return make_error("bad_request", "malformed request");
  const size_t magic_end = line.find('\t');
  const std::string magic = line.substr(0, magic_end);
  int n;  // fields before the password, the magic included
  if (magic == kMagic1) n = 4;
  else if (magic == kMagic2) n = 7;
  else return make_error("bad_request", "unknown protocol");
  size_t pos = 0;
  std::string fields[7];
  for (int i = 0; i < n; ++i) {
    const size_t tab = line.find('\t', pos);
    if (tab == std::string::npos) return make_error("bad_request", "malformed request");
    fields[i] = line.substr(pos, tab - pos);
    pos = tab + 1;
  }
  r.service = fields[1];
  r.rhost = fields[2];
  if (n == 4) {
    r.username = fields[3];
  } else {
    r.tty = fields[3];
    r.ruser = fields[4];
    r.uid = fields[5];
    r.username = fields[6];
  }
  r.password = line.substr(pos);
  if (r.username.empty() || r.username.size() > 256 || r.service.size() > 64 || r.rhost.size() > 256 ||
      r.tty.size() > 64 || r.ruser.size() > 256 || r.uid.size() > 10 ||
      r.uid.find_first_not_of("0123456789") != std::string::npos || r.password.size() > 4096)
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
