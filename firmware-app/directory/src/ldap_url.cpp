// See ldap_url.h.
#include "ldap_url.h"

#include <cctype>

namespace resetd::directory {

std::string ServerUrl::canonical() const {
  const bool v6 = host.find(':') != std::string::npos;
  return std::string(ldaps ? "ldaps://" : "ldap://") + (v6 ? "[" + host + "]" : host) + ":" +
         std::to_string(port) + "/";
}

std::optional<ServerUrl> parse_url(const std::string& url) {
  ServerUrl u;
  std::string rest;
  if (url.rfind("ldaps://", 0) == 0) {
    u.ldaps = true;
    rest = url.substr(8);
  } else if (url.rfind("ldap://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return std::nullopt;
  }
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  size_t i = 0;
  if (!rest.empty() && rest[0] == '[') {  // [IPv6]
    const size_t close = rest.find(']');
    if (close == std::string::npos || close < 3) return std::nullopt;
    u.host = rest.substr(1, close - 1);
    for (char c : u.host)
      if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) return std::nullopt;
    i = close + 1;
  } else {
    while (i < rest.size() && (std::isalnum(static_cast<unsigned char>(rest[i])) || rest[i] == '.' ||
                               rest[i] == '-'))
      ++i;
    u.host = rest.substr(0, i);
    if (u.host.empty() || u.host.size() > 253 || u.host.front() == '.' || u.host.front() == '-')
      return std::nullopt;
  }
  if (i == rest.size()) {
    u.port = u.ldaps ? 636 : 389;
    return u;
  }
  if (rest[i] != ':' || i + 1 == rest.size() || rest.size() - i - 1 > 5) return std::nullopt;
  int port = 0;
  for (size_t k = i + 1; k < rest.size(); ++k) {
    if (!std::isdigit(static_cast<unsigned char>(rest[k]))) return std::nullopt;
    port = port * 10 + (rest[k] - '0');
  }
  if (port < 1 || port > 65535) return std::nullopt;
  u.port = port;
  return u;
}

}  // namespace resetd::directory
