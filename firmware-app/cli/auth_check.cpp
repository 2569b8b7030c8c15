// `resetd auth-check`: pam_exec's side of the PAM socket.
#include <string.h>

#include <iostream>

#include "commands.h"
#include "resetd/authsock/auth_socket.h"

namespace resetd::cli {
namespace {

// Reads stdin up to the first NUL or LF (pam_exec's expose_authtok ends the
// token with a NUL), at most `max` bytes; "\r" before LF dropped.
std::string read_token(size_t max) {
  std::string s;
  char c;
  while (s.size() <= max && std::cin.get(c)) {
    if (c == '\0' || c == '\n') break;
    s += c;
  }
  if (!s.empty() && s.back() == '\r') s.pop_back();
  return s;
}

}  // namespace

// `resetd auth-check`: exit 0 accepted, 1 refused or service unreachable
// (message on stdout: pam_exec's `stdout` option shows it to the person),
// 2 usage.
int cmd_auth_check(const std::string& config_path, std::string socket_path, std::string service) {
  const char* type = std::getenv("PAM_TYPE");
  if (type && std::string(type) != "auth") {
    std::cout << "resetd auth-check only answers the auth stack (PAM_TYPE=" << type << ")\n";
    return kUsage;
  }
  if (socket_path.empty()) {
    auto cfg = config::load(config_path, {});
    if (!cfg) {
      std::cerr << "resetd: " << cfg.error().message << "\n";
      return kUsage;
    }
    socket_path = cfg->pam_socket;
  }
  authsock::AuthRequest r;
  if (const char* v = std::getenv("PAM_SERVICE")) service = v;
  r.service = service.empty() ? "unknown" : service;
  if (const char* v = std::getenv("PAM_RHOST")) r.rhost = v;
  if (const char* v = std::getenv("PAM_USER")) r.username = v;
  else r.username = read_token(256);
  r.password = read_token(4096);
  if (r.username.empty()) {
    std::cout << "resetd auth-check: no username (PAM_USER or the first line of stdin)\n";
    return kUsage;
  }
  if (r.password.size() > 4096) {
    std::cout << "The username or password is incorrect.\n";
    return kFail;
  }
  auto reply = authsock::ask(socket_path, r, 20000);
  explicit_bzero(r.password.data(), r.password.size());
  if (!reply) {
    std::cout << "resetd auth-check: " << reply.error().message << "\n";
    return kFail;
  }
  if (reply->ok) return kOk;
  std::cout << reply->message << "\n";
  return kFail;
}

}  // namespace resetd::cli
