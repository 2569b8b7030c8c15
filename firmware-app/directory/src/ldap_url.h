// One directory server's address, parsed strictly: the config file, the
// settings API and every connection read directory.url and each of
// directory.failover_urls through parse_url, so a value libldap would treat as
// a list ("ldaps://a/,ldap://b/", "ldaps://a ldap://b") is never one server.
// Pure functions, thread-safe.
#pragma once

#include <optional>
#include <string>

namespace resetd::directory {

struct ServerUrl {
  bool ldaps = false;  // false: ldap://, StartTLS mandatory
  std::string host;    // a DNS name, IPv4 address or IPv6 address (no brackets)
  int port = 0;        // 636 / 389 when the URL names none
  // scheme://host:port/ with the IPv6 address in brackets: what libldap is
  // given (its TLS name check uses this host).
  std::string canonical() const;
};

// ldaps://host[:port][/] or ldap://host[:port][/], nothing else: one host,
// no user info, DN, query, list separator, space or control character.
std::optional<ServerUrl> parse_url(const std::string& url);

}  // namespace resetd::directory
