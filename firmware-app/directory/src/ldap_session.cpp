// See ldap_session.h. Recipes proven against slapd 2.5.13 and Samba 4.17
// (tests/integration/slapd_lab.py, samba_lab.py): per-handle TLS context (CACERTFILE,
// REQUIRE_CERT=DEMAND, then NEWCTX last), StartTLS mandatory on ldap://,
// async binds so the ppolicy response control can be read.
#include "ldap_session.h"

#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "ldap_transport.h"
#include "ldap_url.h"

namespace resetd::directory {

std::string rc_text(int rc) { return std::string(ldap_err2string(rc)) + " (" + std::to_string(rc) + ")"; }

bool contains(const std::string& s, const char* needle) { return s.find(needle) != std::string::npos; }

// Transport-level failures: the directory cannot be reached or trusted.
bool transport_rc(int rc) {
  return rc < 0 || rc == LDAP_BUSY || rc == LDAP_UNAVAILABLE || rc == LDAP_STRONG_AUTH_REQUIRED ||
         rc == LDAP_CONFIDENTIALITY_REQUIRED;
}

std::string diagnostic(LDAP* ld) {
  char* msg = nullptr;
  ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &msg);
  std::string s = msg ? msg : "";
  if (msg) ldap_memfree(msg);
  return s;
}

Session::~Session() {
  if (ld) ldap_unbind_ext_s(ld, nullptr, nullptr);
}

namespace {

// What a failed TLS start means. libldap reports an untrusted certificate and a
// server that does not speak TLS alike (-11, "Connect error"), so a second
// handshake without verification tells them apart; it sends nothing.
Failure tls_failure(const ServerUrl& u, int rc, int timeout_s) {
  if (rc == LDAP_TIMEOUT) return Failure::Timeout;
  if (rc > 0) return Failure::TlsUnavailable;  // the server answered StartTLS with a refusal
  Connected t = connect_tcp(u, timeout_s);
  if (t.fd < 0) return Failure::TlsUnavailable;
  LDAP* ld = nullptr;
  const std::string url = u.canonical();
  if (ldap_init_fd(t.fd, LDAP_PROTO_TCP, url.c_str(), &ld) != LDAP_SUCCESS || !ld) {
    ::close(t.fd);
    return Failure::TlsUnavailable;
  }
  int v3 = LDAP_VERSION3, never = LDAP_OPT_X_TLS_NEVER, zero = 0;
  struct timeval tv{timeout_s, 0};
  ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
  ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
  ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &never);
  ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero);
  int r;
  {
    Watchdog w(t.fd, timeout_s);
    r = u.ldaps ? ldap_install_tls(ld) : ldap_start_tls_s(ld, nullptr, nullptr);
  }
  ldap_unbind_ext_s(ld, nullptr, nullptr);
  return r == LDAP_SUCCESS ? Failure::CertificateNotTrusted : Failure::TlsUnavailable;
}

}  // namespace

// directory.url, then each failover URL, until one gives a verified TLS
// connection; the answer of the first one when none does.
Answer Session::open() {
  std::vector<std::string> urls{cfg_.url};
  urls.insert(urls.end(), cfg_.failover_urls.begin(), cfg_.failover_urls.end());
  Answer first;
  std::string all;
  for (size_t i = 0; i < urls.size(); ++i) {
    Answer a = open_one(urls[i]);
    if (a.ok()) return a;
    if (ld) ldap_unbind_ext_s(ld, nullptr, nullptr);
    ld = nullptr;
    if (i == 0) first = a;
    all += (i ? "; " : "") + a.text;
  }
  first.text = all;
  return first;
}

// One server: our own TCP connection to it (libldap gets the socket, so it
// cannot fall through to any other address), then TLS — ldaps:// at once,
// ldap:// by StartTLS — verified against ca_file for the URL's host name.
Answer Session::open_one(const std::string& url) {
  const auto u = parse_url(url);
  if (!u)
    return {Outcome::Unavailable, LDAP_PARAM_ERROR,
            "\"" + url + "\" is not one ldaps:// or ldap:// URL; not used", Failure::Other};
  const std::string where = u->canonical();
  Connected t = connect_tcp(*u, cfg_.timeout_s);
  if (t.fd < 0) return {Outcome::Unavailable, LDAP_SERVER_DOWN, t.text, t.failure};
  if (ldap_init_fd(t.fd, LDAP_PROTO_TCP, where.c_str(), &ld) != LDAP_SUCCESS || !ld) {
    ::close(t.fd);
    ld = nullptr;
    return {Outcome::Unavailable, LDAP_LOCAL_ERROR, where + ": libldap cannot use the connection",
            Failure::Other};
  }
  server_ = where;
  int v3 = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, zero = 0;
  struct timeval net = tv_;
  ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
  ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
  ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &net);
  ldap_set_option(ld, LDAP_OPT_TIMEOUT, &net);
  if (!cfg_.ca_file.empty()) ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, cfg_.ca_file.c_str());
  ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
  ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero);  // must come last
  int rc;
  bool fired;
  {
    // Mandatory: never a password on a plain connection. The watchdog bounds
    // the handshake, which libldap waits on without a timeout.
    Watchdog w(t.fd, cfg_.timeout_s);
    rc = u->ldaps ? ldap_install_tls(ld) : ldap_start_tls_s(ld, nullptr, nullptr);
    fired = w.stop();
  }
  if (rc != LDAP_SUCCESS) {
    std::string diag = diagnostic(ld);
    const Failure f = fired ? Failure::Timeout : tls_failure(*u, rc, cfg_.timeout_s);
    std::string why = f == Failure::Timeout ? " (no answer within " + std::to_string(cfg_.timeout_s) + " s)"
                      : f == Failure::CertificateNotTrusted
                          ? " (the server's certificate is not trusted by directory.ca_file, or its "
                            "name does not match)"
                          : " (the server does not do TLS here)";
    return {Outcome::Unavailable, rc,
            where + ": " + (u->ldaps ? "TLS" : "StartTLS") + " failed: " + rc_text(rc) +
                (diag.empty() ? "" : ": " + diag) + why,
            f};
  }
  if (!ldap_tls_inplace(ld))
    return {Outcome::Unavailable, LDAP_CONFIDENTIALITY_REQUIRED, where + ": TLS is not in place after it started",
            Failure::TlsUnavailable};
  return {Outcome::Ok, 0, ""};
}

// Every request that carries a password asks first: a connection that is not
// TLS — whatever libldap did underneath — never gets one.
bool Session::tls_in_place(Parsed* p) const {
  if (ld && ldap_tls_inplace(ld)) return true;
  p->rc = LDAP_CONFIDENTIALITY_REQUIRED;
  p->diag = "TLS is not in place on this connection; the password was not sent";
  return false;
}

Parsed Session::bind(const std::string& dn, const std::string& pw) {
  Parsed p;
  if (!tls_in_place(&p)) return p;
  struct berval cred{static_cast<ber_len_t>(pw.size()), const_cast<char*>(pw.data())};
  LDAPControl* ppreq = nullptr;
  LDAPControl* sctrls[] = {nullptr, nullptr};
  if (!ad_ && ldap_create_passwordpolicy_control(ld, &ppreq) == LDAP_SUCCESS) sctrls[0] = ppreq;
  int msgid = 0;
  int rc = ldap_sasl_bind(ld, dn.c_str(), LDAP_SASL_SIMPLE, &cred, sctrls, nullptr, &msgid);
  if (ppreq) ldap_control_free(ppreq);
  LDAPMessage* res = nullptr;
  if (rc == LDAP_SUCCESS) {
    struct timeval tv = tv_;
    int r = ldap_result(ld, msgid, LDAP_MSG_ALL, &tv, &res);
    if (r == 0) rc = LDAP_TIMEOUT;
    else if (r < 0) ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &rc);
  }
  if (rc != LDAP_SUCCESS || !res) {
    p.rc = rc == LDAP_SUCCESS ? LDAP_SERVER_DOWN : rc;
    p.diag = diagnostic(ld);
    if (res) ldap_msgfree(res);
    return p;
  }
  int err = 0;
  char* text = nullptr;
  LDAPControl** ctrls = nullptr;
  if (ldap_parse_result(ld, res, &err, nullptr, &text, nullptr, &ctrls, 1) != LDAP_SUCCESS)
    err = LDAP_DECODING_ERROR;
  p.rc = err;
  p.diag = text ? text : "";
  if (text) ldap_memfree(text);
  if (LDAPControl* pp = ldap_control_find(LDAP_CONTROL_PASSWORDPOLICYRESPONSE, ctrls, nullptr)) {
    ber_int_t expire = -1, grace = -1;
    LDAPPasswordPolicyError pe = PP_noError;
    if (ldap_parse_passwordpolicy_control(ld, pp, &expire, &grace, &pe) == LDAP_SUCCESS &&
        pe != PP_noError)
      p.pp_error = pe;
  }
  ldap_controls_free(ctrls);
  return p;
}

Answer Session::bind_answer(const Parsed& p, bool service) const {
  std::string text = rc_text(p.rc) + (p.diag.empty() ? "" : ": " + p.diag);
  if (p.pp_error >= 0)
    text += "; " + std::string(ldap_passwordpolicy_err2txt(static_cast<LDAPPasswordPolicyError>(p.pp_error)));
  if (transport_rc(p.rc))
    return {Outcome::Unavailable, p.rc, text, p.rc == LDAP_TIMEOUT ? Failure::Timeout : Failure::Other};
  if (service) {
    if (p.rc == LDAP_SUCCESS && p.pp_error < 0) return {Outcome::Ok, 0, text};
    return {Outcome::Unavailable, p.rc,
            "the directory refused the service account " + cfg_.bind_dn + ": " + text,
            p.rc == LDAP_INVALID_CREDENTIALS ? Failure::CredentialsRefused : Failure::Other};
  }
  if (p.rc == LDAP_SUCCESS)
    return {p.pp_error == PP_changeAfterReset || p.pp_error == PP_passwordExpired
                ? Outcome::MustChange
                : Outcome::Ok,
            0, text};
  if (p.rc == LDAP_INVALID_CREDENTIALS) {
    // AD: "AcceptSecurityContext error, data 773" and friends.
    if (contains(p.diag, "data 773") || contains(p.diag, "data 532"))
      return {Outcome::MustChange, p.rc, text};
    if (contains(p.diag, "data 775") || p.pp_error == PP_accountLocked)
      return {Outcome::Locked, p.rc, text};
    return {Outcome::InvalidCredentials, p.rc, text};
  }
  return {Outcome::Refused, p.rc, text};
}

Answer Session::connect_service() {
  if (Answer a = open(); !a.ok()) return a;
  return bind_answer(bind(cfg_.bind_dn, cfg_.bind_password), true);
}

Answer op_answer(int rc, std::string text) {
  if (rc == LDAP_SUCCESS) return {Outcome::Ok, 0, text};
  if (transport_rc(rc)) return {Outcome::Unavailable, rc, text};
  if (rc == LDAP_NO_SUCH_OBJECT) return {Outcome::NotFound, rc, text};
  if (contains(text, "00000056") || contains(text, "unwilling to verify old password"))
    return {Outcome::WrongPassword, rc, text};
  if (rc == LDAP_CONSTRAINT_VIOLATION || contains(text, "0000052D"))
    return {Outcome::Policy, rc, text};
  return {Outcome::Refused, rc, text};
}

Answer Session::modify(const std::string& dn, LDAPMod** mods, bool ignore_absent) {
  if (Parsed p; !tls_in_place(&p)) return op_answer(p.rc, rc_text(p.rc) + ": " + p.diag);
  int msgid = 0;
  int rc = ldap_modify_ext(ld, dn.c_str(), mods, nullptr, nullptr, &msgid);
  if (rc != LDAP_SUCCESS) {  // not sent
    std::string diag = diagnostic(ld);
    return op_answer(rc, rc_text(rc) + (diag.empty() ? "" : ": " + diag));
  }
  LDAPMessage* res = nullptr;
  if (Answer a = await_write(msgid, "modify", &res); !a.ok()) return a;
  int err = 0;
  char* text = nullptr;
  if (ldap_parse_result(ld, res, &err, nullptr, &text, nullptr, nullptr, 1) != LDAP_SUCCESS)
    err = LDAP_DECODING_ERROR;
  std::string diag = text ? text : "";
  if (text) ldap_memfree(text);
  if (err == LDAP_SUCCESS || (ignore_absent && err == LDAP_NO_SUCH_ATTRIBUTE)) return {Outcome::Ok, 0, ""};
  return op_answer(err, rc_text(err) + (diag.empty() ? "" : ": " + diag));
}

// The answer to a write that left (msgid) within timeout_s, in *res; else
// unanswered(): the directory may have applied it.
Answer Session::await_write(int msgid, const char* what, LDAPMessage** res) {
  struct timeval tv = tv_;
  const int r = ldap_result(ld, msgid, LDAP_MSG_ALL, &tv, res);
  if (r > 0 && *res) return {Outcome::Ok, 0, ""};
  if (*res) ldap_msgfree(*res);
  *res = nullptr;
  return unanswered(r == 0 ? LDAP_TIMEOUT : LDAP_SERVER_DOWN, what);
}

// The request left; its answer did not come (timeout, or the connection was
// cut). The server may have applied it, or may still: unknown, not refused.
// The connection is dropped at once (RST) rather than closed politely, so
// nothing of ours still queued on it is sent later.
Answer Session::unanswered(int rc, const char* what) {
  if (ld) {
    int fd = -1;
    if (ldap_get_option(ld, LDAP_OPT_DESC, &fd) == LDAP_OPT_SUCCESS && fd >= 0) {
      struct linger l{1, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      ::shutdown(fd, SHUT_RDWR);
    }
  }
  return {Outcome::Unknown, rc,
          std::string(what) + ": sent, but no answer " +
              (rc == LDAP_TIMEOUT ? "within " + std::to_string(cfg_.timeout_s) + " s" : "(connection lost)") +
              "; the directory may have applied it",
          rc == LDAP_TIMEOUT ? Failure::Timeout : Failure::Other};
}

Answer Session::passwd_exop(const std::string& dn, const std::string* old_pw,
                            const std::string& new_pw) {
  struct berval user{static_cast<ber_len_t>(dn.size()), const_cast<char*>(dn.data())};
  struct berval np{static_cast<ber_len_t>(new_pw.size()), const_cast<char*>(new_pw.data())};
  struct berval op{0, nullptr};
  if (old_pw) op = {static_cast<ber_len_t>(old_pw->size()), const_cast<char*>(old_pw->data())};
  LDAPControl* ppreq = nullptr;
  LDAPControl* sctrls[] = {nullptr, nullptr};
  if (ldap_create_passwordpolicy_control(ld, &ppreq) == LDAP_SUCCESS) sctrls[0] = ppreq;
  int msgid = 0;
  int rc = ldap_passwd(ld, &user, old_pw ? &op : nullptr, &np, sctrls, nullptr, &msgid);
  if (ppreq) ldap_control_free(ppreq);
  if (rc != LDAP_SUCCESS) {  // not sent
    std::string diag = diagnostic(ld);
    return op_answer(rc, "password modify: " + rc_text(rc) + (diag.empty() ? "" : ": " + diag));
  }
  LDAPMessage* res = nullptr;
  if (Answer a = await_write(msgid, "password modify", &res); !a.ok()) return a;
  int err = 0;
  char* text = nullptr;
  LDAPControl** ctrls = nullptr;
  if (ldap_parse_result(ld, res, &err, nullptr, &text, nullptr, &ctrls, 1) != LDAP_SUCCESS)
    err = LDAP_DECODING_ERROR;
  std::string t = rc_text(err) + (text && *text ? std::string(": ") + text : "");
  if (text) ldap_memfree(text);
  if (LDAPControl* pp = ldap_control_find(LDAP_CONTROL_PASSWORDPOLICYRESPONSE, ctrls, nullptr)) {
    ber_int_t expire = -1, grace = -1;
    LDAPPasswordPolicyError pe = PP_noError;
    if (ldap_parse_passwordpolicy_control(ld, pp, &expire, &grace, &pe) == LDAP_SUCCESS &&
        pe != PP_noError)
      t += "; ppolicy: " + std::string(ldap_passwordpolicy_err2txt(pe));
  }
  ldap_controls_free(ctrls);
  return op_answer(err, t);
}

}  // namespace resetd::directory
