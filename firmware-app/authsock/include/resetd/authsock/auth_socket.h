// The local password-check socket of spec §12: `resetd auth-check` (run by
// pam_exec) sends one request line, the service answers one line.
//
// AuthSocketServer owns a Unix stream socket (mode 0660, group configurable,
// never TCP), an accept thread and at most `max_connections` connection
// threads; each connection has a total read deadline and a line-length cap,
// since every local user who can reach the socket is a client. start() and
// stop() are called from one thread; the check function runs on connection
// threads concurrently and must be thread-safe.
//
// Protocol (UTF-8, LF-terminated, no NUL):
//   request  "resetd-auth 2\t<service>\t<rhost>\t<tty>\t<ruser>\t<uid>\t<username>\t<password>\n"
//            (password last, so it may contain tabs; it can't contain LF,
//            which pam_exec's expose_authtok can't pass either). tty, ruser
//            and uid are what the caller says (PAM_TTY, PAM_RUSER, its real
//            uid): for the audit and the per-client throttle only. Version 1
//            ("resetd-auth 1\t<service>\t<rhost>\t<username>\t<password>")
//            is still understood.
//   answer   "ok\n" | "fail\t<code>\t<message>\n"
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>

#include "resetd/common/result.h"

namespace resetd::authsock {

struct AuthRequest {
  std::string service;   // PAM_SERVICE, e.g. "sshd"
  std::string rhost;     // PAM_RHOST, may be empty
  std::string username;  // PAM_USER
  std::string password;
  uid_t peer_uid = static_cast<uid_t>(-1);  // SO_PEERCRED, filled by the server
  pid_t peer_pid = 0;
  std::string tty;    // PAM_TTY, may be empty
  std::string ruser;  // PAM_RUSER (who asks, e.g. sudo's caller), may be empty
  std::string uid;    // the caller's real uid in decimal, may be empty
};

struct AuthReply {
  bool ok = false;
  std::string code;     // snake_case when !ok
  std::string message;  // for the person signing in; never a secret
};

struct AuthSocketOptions {
  std::string path;           // absolute; its directory is created (0755) when missing
  std::string group;          // socket's group; empty = the process's own group
  int max_connections = 16;   // more at once are answered "busy" and closed
  int read_deadline_ms = 5000;  // for the whole request line
  size_t max_line = 8192;
};

using CheckFn = std::function<AuthReply(const AuthRequest&)>;

class AuthSocketServer {
 public:
  AuthSocketServer(AuthSocketOptions opts, CheckFn check);
  ~AuthSocketServer();
  // Binds (refusing a path some other live process is serving), sets mode
  // and group, starts the accept thread. false + error on failure.
  bool start(std::string* error);
  // Stops accepting, waits for the connection threads (bounded by their
  // deadlines) and removes the socket file.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Encodes/decodes the wire lines (exposed for tests and the client).
Result<std::string> encode_request(const AuthRequest& r);
Result<AuthRequest> decode_request(const std::string& line);  // line without LF
std::string encode_reply(const AuthReply& r);
AuthReply decode_reply(const std::string& line);

// Client side for `resetd auth-check`: connects, sends, waits at most
// `timeout_ms` in all (connecting included: a frozen service whose backlog
// is full blocks connect). Error codes: service_unavailable (no socket,
// refused, permission denied — message says which), timeout, bad_request.
Result<AuthReply> ask(const std::string& path, const AuthRequest& r, int timeout_ms);

}  // namespace resetd::authsock
