// One connection to the directory and the operations that send secrets over
// it. A Session is owned by one Directory call and used by one thread; it
// opens its own TLS connection (ldaps://, or ldap:// + StartTLS, mandatory) to
// directory.url or, when that fails, to the first failover URL that works,
// and closes it when destroyed. Whatever carries a password (bind, Password
// Modify, a modify of unicodePwd) checks first that TLS is in place on the
// connection and is refused without sending anything when it is not. Included only by the directory's libldap
// sources (it needs <ldap.h>).
#pragma once

#define LDAP_DEPRECATED 0
#include <ldap.h>
#include <openldap.h>   // ldap_init_fd
#include "ldap_lazy.h"  // after ldap.h: libldap loaded on first use
#include <sys/time.h>

#include <string>

#include "resetd/directory/directory.h"

namespace resetd::directory {

std::string rc_text(int rc);
bool contains(const std::string& s, const char* needle);
// Transport-level failures: the directory cannot be reached or trusted.
bool transport_rc(int rc);
// The server's diagnostic message of the last operation on `ld`.
std::string diagnostic(LDAP* ld);
// An operation's result code and text as an Answer.
Answer op_answer(int rc, std::string text);

struct Parsed {
  int rc = 0;
  std::string diag;
  int pp_error = -1;  // LDAPPasswordPolicyError, -1 = no control
};

class Session {
 public:
  // `cfg` must outlive the session.
  Session(const Config& cfg, const struct timeval& tv) : cfg_(cfg), ad_(cfg.kind == "ad"), tv_(tv) {}
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session();

  LDAP* ld = nullptr;

  // Opens the TLS connection (no bind yet); failure says why (Failure).
  Answer open();
  // The server open() reached, as scheme://host:port/.
  const std::string& server() const { return server_; }
  // A simple bind (async, so the ppolicy response control can be read).
  Parsed bind(const std::string& dn, const std::string& pw);
  Answer bind_answer(const Parsed& p, bool service) const;
  // open() and a bind as the service account.
  Answer connect_service();
  // A modify; Outcome::Unknown when it was sent and no answer came within timeout_s.
  Answer modify(const std::string& dn, LDAPMod** mods, bool ignore_absent = false);
  // RFC 3062 Password Modify with the ppolicy request control; Unknown as modify.
  Answer passwd_exop(const std::string& dn, const std::string* old_pw, const std::string& new_pw);

 private:
  Answer open_one(const std::string& url);
  // Waits for a sent write's answer; Ok with *res set, or unanswered().
  Answer await_write(int msgid, const char* what, LDAPMessage** res);
  // A write that left without an answer: Outcome::Unknown; drops the connection.
  Answer unanswered(int rc, const char* what);
  bool tls_in_place(Parsed* p) const;

  const Config& cfg_;
  bool ad_;
  struct timeval tv_;
  std::string server_;
};

}  // namespace resetd::directory
