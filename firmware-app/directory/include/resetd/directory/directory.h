// Directory: where the password lands. Local accounts (kind "none") keep
// today's behaviour — resetd's own database is the truth; "ldap" (OpenLDAP,
// RFC 3062 Password Modify + ppolicy) and "ad" (Active Directory / Samba,
// unicodePwd over TLS) write to the site's directory. The LDAP
// implementations are the only code that includes libldap.
//
// Every call opens its own TLS connection (ldaps:// or ldap:// + StartTLS,
// mandatory: a password is never sent on a plain connection) and binds as the
// service account, so an instance is thread-safe and holds no socket open.
// Answers carry the server's exact text (diagnostic message) for the audit and
// logs, and a Failure code for what the UI shows; they never carry a password.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "resetd/common/result.h"

namespace resetd::directory {

struct AttributeMap {
  std::string username;         // uid | sAMAccountName
  std::string display_name;     // cn | displayName
  std::string email;            // mail
  std::string alternate_email;  // e.g. otherMailbox; empty = none
  std::string locale;           // preferredLanguage; empty = none
};

struct Config {
  std::string kind = "none";  // none | ldap | ad
  std::string url;            // one ldaps://host:636/ or ldap://host:389/ (StartTLS)
  // Tried in order when `url` cannot be reached or trusted; each one URL, TLS
  // like `url` (ldaps://, or ldap:// with StartTLS), up to 8.
  std::vector<std::string> failover_urls;
  std::string ca_file;        // PEM CA bundle; empty = the system's
  std::string bind_dn;        // the service account (AD: DN or UPN)
  std::string bind_password;  // never logged, never returned by the API
  std::string users_base;
  std::string user_filter;    // default per kind
  AttributeMap attrs;         // defaults per kind
  int timeout_s = 10;         // network and operation timeout, 1–120
  int page_size = 500;        // RFC 2696 page size, 10–5000
  int max_users = 50000;      // bound on one sync, 1–1000000
  int sync_interval_min = 15; // timer refresh, 1–1440
  // group DN -> role (user | helpdesk_admin | password_admin | user_admin | global_admin)
  std::map<std::string, std::string> roles;

  bool remote() const { return kind == "ldap" || kind == "ad"; }
};

// The settings an admin changes at run time, by the key the config file, the
// stored setting and the settings API all use, so each maps them in one loop
// (page_size and max_users are file-only; bind_password is write-only and
// kept sealed, so each of them handles it itself; roles is a map;
// failover_urls a list).
struct StringKey {
  const char* key;
  std::string Config::*field;      // or, when null,
  std::string AttributeMap::*attr;  // an attribute name
};
struct IntKey {
  const char* key;
  int Config::*field;
};
const std::vector<StringKey>& string_keys();  // kind, url, ca_file, bind_dn, users_base, ...
const std::vector<IntKey>& int_keys();        // timeout_s, sync_interval_min
inline std::string& value_of(Config& c, const StringKey& k) { return k.field ? c.*k.field : c.attrs.*k.attr; }
inline const std::string& value_of(const Config& c, const StringKey& k) {
  return k.field ? c.*k.field : c.attrs.*k.attr;
}

// Fills empty user_filter / attribute names with the kind's defaults.
Config with_defaults(Config c);
// Validates; the error names the key ("directory.url" ...), like the config file's.
Status validate(const Config& c);

struct Entry {
  std::string id;  // entryUUID (text) or objectGUID (hex of the 16 bytes)
  std::string dn;
  std::string username;
  std::string display_name;
  std::string email;
  std::string alternate_email;
  std::string locale;
  bool disabled = false;  // AD userAccountControl ACCOUNTDISABLE
  // The directory's own lockout: AD lockoutTime within the domain's
  // lockoutDuration; OpenLDAP ppolicy pwdAccountLockedTime present.
  bool locked = false;
};

enum class Outcome {
  Ok,
  MustChange,          // the password is right but must be changed (ppolicy 2, AD 773)
  InvalidCredentials,  // 49 / AD 52e
  Locked,              // ppolicy accountLocked, AD 775
  Policy,              // the directory's password policy refused (19, AD 0000052D)
  WrongPassword,       // a change with a wrong old password (53 / AD 00000056)
  Unavailable,         // cannot connect, TLS untrusted, timeout, service bind refused
  NotFound,            // no such entry (32)
  Refused,             // any other refusal (e.g. 50 insufficient access)
};

// Why the directory could not be used, as "Test connection" tells an admin: a
// stable code with a fixed, translated message, never the server's text
// (which may come from any host:port an admin typed).
enum class Failure {
  None,
  NameNotFound,           // the host name does not resolve
  Refused,                // nothing listens at host:port
  Timeout,                // no answer within timeout_s (connect, TLS or LDAP)
  CertificateNotTrusted,  // TLS works, but not with a certificate ca_file trusts for this name
  TlsUnavailable,         // the server does not do TLS / StartTLS here
  CredentialsRefused,     // the service account's DN or password was refused (49)
  UsersBaseUnreadable,    // bound, but users_base cannot be read
  Other,
};

struct Answer {
  Outcome outcome = Outcome::Ok;
  int ldap_code = 0;
  std::string text;  // the server's exact answer: "Constraint violation (19): 0000052D: ..."
  Failure failure = Failure::None;
  // Something an admin should fix though the call worked (e.g. an OpenLDAP
  // policy without pwdMustChange: TRUE, so "must change" does nothing); "" = none.
  std::string warning = {};
  bool ok() const { return outcome == Outcome::Ok; }
};

std::string outcome_name(Outcome o);
// "name_not_found", "refused", "timeout", "certificate_not_trusted",
// "tls_unavailable", "credentials_refused", "users_base_unreadable", "other"; "" for None.
std::string failure_code(Failure f);

class Directory {
 public:
  virtual ~Directory() = default;
  virtual std::string kind() const = 0;
  // true = local accounts (resetd's database is the directory)
  virtual bool local() const = 0;

  // Binds as the service account and reads the base; `text` says what the server answered.
  virtual Answer test_connection() = 0;
  // Paged (RFC 2696) search of users_base with user_filter; calls `each` per
  // entry; stops with Refused ("too many") after cfg.max_users entries.
  virtual Answer list_users(const std::function<void(const Entry&)>& each) = 0;
  // One entry by its stable id.
  virtual Answer get_user(const std::string& id, Entry* out) = 0;
  // Admin reset; `require_change`: ppolicy pwdReset TRUE / AD pwdLastSet 0
  // (OpenLDAP: `warning` says so when the policy does not enforce it).
  virtual Answer reset_password(const std::string& dn, const std::string& password,
                                bool require_change) = 0;
  // The user's own change: OpenLDAP binds as the user and sends the exop with
  // the old password; AD deletes the old value and adds the new one (on the
  // user's behalf, since a must-change AD user cannot bind).
  virtual Answer change_password(const std::string& dn, const std::string& old_password,
                                 const std::string& new_password) = 0;
  // ppolicy: delete pwdAccountLockedTime; AD: lockoutTime = 0.
  virtual Answer unlock(const std::string& dn) = 0;
  // Whether the password a must-change reset set is still unchanged there
  // (AD pwdLastSet 0, ppolicy pwdReset TRUE): what an expiry may replace.
  virtual Answer change_pending(const std::string& dn, bool* pending) = 0;
  // A simple bind as `dn` with `password`: Ok, MustChange, InvalidCredentials, Locked, Unavailable.
  virtual Answer bind_check(const std::string& dn, const std::string& password) = 0;
  // Group DNs of cfg.roles that `dn` is a member of, directly or through
  // nested groups (AD: in-chain rule; OpenLDAP: up to 8 levels, cycle-safe).
  virtual Answer member_of(const std::string& dn, std::vector<std::string>* groups) = 0;
  // Members of every group in cfg.roles, nested groups included, as
  // dn_key()s: what a sync maps to roles. AD: the users under users_base in
  // the group (in-chain rule, paged); OpenLDAP: the `member` values, then
  // those of groups among them, up to 8 levels. A mapped group the directory
  // does not have counts as empty; on any error the caller leaves roles unchanged.
  virtual Answer group_members(std::map<std::string, std::vector<std::string>>* members) = 0;

  virtual const Config& config() const = 0;
};

// A DN in one comparable form (LDAPv3 string form, ASCII lower case), so a
// group's `member` values match the entries' DNs however either was spelled.
std::string dn_key(const std::string& dn);

// "none" gives the local implementation.
std::unique_ptr<Directory> make(const Config& c);

}  // namespace resetd::directory
