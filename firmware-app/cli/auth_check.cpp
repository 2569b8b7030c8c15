// `resetd auth-check`: pam_exec's side of the PAM socket.
#include <string.h>
#include <unistd.h>

#include <iostream>

#include "commands.h"
#include "resetd/authsock/auth_socket.h"

namespace resetd::cli {
namespace {

// pam_exec hands on at most PAM_MAX_RESP_SIZE (512) bytes of the password
// (strndupa in pam_exec.c), and a terminal conversation (misc_conv) reads at
// most 511: a token this long may be the cut front of a longer password.
constexpr size_t kPamCutBytes = 511;

// Reads stdin up to the first NUL or LF (pam_exec's expose_authtok ends the
// token with a NUL), at most `max` + 1 bytes; "\r" before LF dropped.
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

// An environment value as one protocol field (no tab or line break), at most `max` bytes.
std::string env_field(const char* name, size_t max) {
  const char* v = std::getenv(name);
  std::string s = v ? std::string(v).substr(0, max) : "";
  for (auto& c : s)
    if (c == '\t' || c == '\n' || c == '\r') c = '_';
  return s;
}

}  // namespace

// `resetd auth-check`: exit 0 accepted, 1 refused or service unreachable
// (message on stdout: pam_exec's `stdout` option shows it to the person),
// 2 usage.
int cmd_auth_check(const std::string& config_path, std::string socket_path, std::string service, int timeout_s) {
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
  // Who asks, for the audit and the per-client throttle; the service cleans them.
  r.rhost = env_field("PAM_RHOST", 256);
  r.tty = env_field("PAM_TTY", 64);
  r.ruser = env_field("PAM_RUSER", 256);
  r.uid = std::to_string(::getuid());
  if (const char* v = std::getenv("PAM_USER")) r.username = v;
  else r.username = read_token(256);
  r.password = read_token(4096);
  if (r.username.empty()) {
    std::cout << "resetd auth-check: no username (PAM_USER or the first line of stdin)\n";
    return kUsage;
  }
  // Checking a cut password would only count a failure against the account.
  if (type && r.password.size() >= kPamCutBytes) {
    explicit_bzero(r.password.data(), r.password.size());
    std::cout << "This password is too long to be checked here (PAM passes at most " << kPamCutBytes - 1
              << " bytes). Sign in on the appliance's web page, or choose a shorter password.\n";
    return kFail;
  }
  if (r.password.size() > 4096) {
    explicit_bzero(r.password.data(), r.password.size());
    std::cout << "The username or password is incorrect.\n";
    return kFail;
  }
  auto reply = authsock::ask(socket_path, r, timeout_s * 1000);
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
