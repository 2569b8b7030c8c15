#include <fstream>

#include "ldap_url.h"
#include "resetd/directory/directory.h"

namespace resetd::directory {
namespace {

Error bad(const std::string& key, const std::string& value, const std::string& allowed) {
  return make_error("invalid_config",
                    "config: " + key + " = " + value + " is not allowed; expected " + allowed, key);
}

bool has_ctl(const std::string& s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}

}  // namespace

std::string outcome_name(Outcome o) {
  switch (o) {
    case Outcome::Ok: return "ok";
    case Outcome::MustChange: return "must_change";
    case Outcome::InvalidCredentials: return "invalid_credentials";
    case Outcome::Locked: return "locked";
    case Outcome::Policy: return "policy";
    case Outcome::WrongPassword: return "wrong_password";
    case Outcome::Unavailable: return "unavailable";
    case Outcome::NotFound: return "not_found";
    case Outcome::Refused: return "refused";
  }
  return "refused";
}

std::string failure_code(Failure f) {
  switch (f) {
    case Failure::None: return "";
    case Failure::NameNotFound: return "name_not_found";
    case Failure::Refused: return "refused";
    case Failure::Timeout: return "timeout";
    case Failure::CertificateNotTrusted: return "certificate_not_trusted";
    case Failure::TlsUnavailable: return "tls_unavailable";
    case Failure::CredentialsRefused: return "credentials_refused";
    case Failure::UsersBaseUnreadable: return "users_base_unreadable";
    case Failure::Other: return "other";
  }
  return "other";
}

const std::vector<StringKey>& string_keys() {
  static const std::vector<StringKey> keys = {
      {"kind", &Config::kind, nullptr},
      {"url", &Config::url, nullptr},
      {"ca_file", &Config::ca_file, nullptr},
      {"bind_dn", &Config::bind_dn, nullptr},
      {"users_base", &Config::users_base, nullptr},
      {"user_filter", &Config::user_filter, nullptr},
      {"username_attribute", nullptr, &AttributeMap::username},
      {"display_name_attribute", nullptr, &AttributeMap::display_name},
      {"email_attribute", nullptr, &AttributeMap::email},
      {"alternate_email_attribute", nullptr, &AttributeMap::alternate_email},
      {"locale_attribute", nullptr, &AttributeMap::locale},
  };
  return keys;
}

const std::vector<IntKey>& int_keys() {
  static const std::vector<IntKey> keys = {{"timeout_s", &Config::timeout_s},
                                           {"sync_interval_min", &Config::sync_interval_min}};
  return keys;
}

Config with_defaults(Config c) {
  const bool ad = c.kind == "ad";
  auto def = [](std::string& v, const char* d) {
    if (v.empty()) v = d;
  };
  if (ad) {
    def(c.user_filter, "(&(objectCategory=person)(objectClass=user))");
    def(c.attrs.username, "sAMAccountName");
    def(c.attrs.display_name, "displayName");
  } else {
    def(c.user_filter, "(objectClass=inetOrgPerson)");
    def(c.attrs.username, "uid");
    def(c.attrs.display_name, "cn");
  }
  def(c.attrs.email, "mail");
  return c;
}

Status validate(const Config& c) {
  if (c.kind != "none" && c.kind != "ldap" && c.kind != "ad")
    return bad("directory.kind", "\"" + c.kind + "\"", "one of \"none\" | \"ldap\" | \"ad\"");
  if (c.timeout_s < 1 || c.timeout_s > 120)
    return bad("directory.timeout_s", std::to_string(c.timeout_s), "1–120");
  if (c.page_size < 10 || c.page_size > 5000)
    return bad("directory.page_size", std::to_string(c.page_size), "10–5000");
  if (c.max_users < 1 || c.max_users > 1000000)
    return bad("directory.max_users", std::to_string(c.max_users), "1–1000000");
  if (c.sync_interval_min < 1 || c.sync_interval_min > 1440)
    return bad("directory.sync_interval_min", std::to_string(c.sync_interval_min), "1–1440");
  if (!c.remote()) return ok_status();
  // One server per entry: libldap reads "a,b" or "a b" as a list and falls
  // through to the next entry on its own, past the StartTLS this code decides
  // on from the first one.
  if (!parse_url(c.url))
    return bad("directory.url", "\"" + c.url + "\"",
               "exactly one ldaps://host[:port] or ldap://host[:port] URL (ldap:// always uses "
               "StartTLS); list other servers in directory.failover_urls");
  if (c.failover_urls.size() > 8)
    return bad("directory.failover_urls", std::to_string(c.failover_urls.size()) + " URLs", "up to 8 URLs");
  for (const auto& u : c.failover_urls)
    if (!parse_url(u))
      return bad("directory.failover_urls", "\"" + u + "\"",
                 "a list of URLs, each exactly one ldaps://host[:port] or ldap://host[:port] "
                 "(ldap:// always uses StartTLS)");
  if (!c.ca_file.empty()) {
    std::ifstream f(c.ca_file);
    if (!f) return bad("directory.ca_file", "\"" + c.ca_file + "\"", "a readable PEM file");
  }
  if (c.bind_dn.empty() || has_ctl(c.bind_dn))
    return bad("directory.bind_dn", "\"" + c.bind_dn + "\"", "the service account's DN (or UPN for AD)");
  if (c.bind_password.empty())
    return bad("directory.bind_password", "(empty)", "the service account's password");
  if (c.users_base.empty() || has_ctl(c.users_base))
    return bad("directory.users_base", "\"" + c.users_base + "\"", "the DN the users live under");
  if (!c.user_filter.empty() && (c.user_filter.front() != '(' || c.user_filter.back() != ')'))
    return bad("directory.user_filter", "\"" + c.user_filter + "\"", "an LDAP filter in parentheses");
  static const char* kRoles[] = {"user", "helpdesk_admin", "password_admin", "user_admin",
                                 "global_admin"};
  for (const auto& [group, role] : c.roles) {
    if (group.empty() || has_ctl(group) || group.size() > 1024)
      return bad("directory.roles", "\"" + group + "\"", "a group's DN (one line, up to 1024 characters)");
    bool okr = false;
    for (const char* r : kRoles) okr = okr || role == r;
    if (!okr)
      return bad("directory.roles.\"" + group + "\"", "\"" + role + "\"",
                 "one of \"user\" | \"helpdesk_admin\" | \"password_admin\" | \"user_admin\" | "
                 "\"global_admin\"");
  }
  return ok_status();
}

}  // namespace resetd::directory
