// OS accounts: UID_MIN from login.defs, the uid from the passwd database.
#include "resetd/authsock/os_accounts.h"

#include <errno.h>
#include <pwd.h>
#include <string.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace resetd::authsock {

uid_t read_uid_min(const std::string& path) {
  constexpr uid_t kDefault = 1000;
  std::ifstream in(path);
  std::string line;
  uid_t found = kDefault;
  while (in && std::getline(in, line)) {
    std::istringstream s(line);
    std::string key, value;
    if (!(s >> key >> value) || key != "UID_MIN") continue;
    // login.defs allows decimal, 0x hex and 0 octal (strtol base 0)
    errno = 0;
    char* end = nullptr;
    const long v = std::strtol(value.c_str(), &end, 0);
    if (errno == 0 && end && *end == '\0' && v >= 1 && v <= 0x7fffffffL) found = static_cast<uid_t>(v);
    else found = kDefault;
  }
  return found;
}

std::optional<std::string> os_reserved(const std::string& name, const OsAccountRules& rules) {
  passwd pw{}, *res = nullptr;
  std::string buf(16384, '\0');
  int rc;
  while ((rc = ::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &res)) == ERANGE && buf.size() < (1u << 20))
    buf.resize(buf.size() * 2);
  // getpwnam_r: 0 and no result = no such account; ENOENT/ESRCH/EBADF/EPERM
  // are documented "not found" answers of some NSS back ends too.
  if (rc == 0 && !res) return std::nullopt;
  if (rc != 0 && rc != ENOENT && rc != ESRCH && rc != EBADF && rc != EPERM)
    return std::string("the OS account database could not be read (") + strerror(rc) + ")";
  if (!res) return std::nullopt;
  const uid_t uid = res->pw_uid;
  if (uid == 0) return std::string("an OS superuser account (uid 0)");
  if (uid == 65534) return std::string("the OS account nobody (uid 65534)");
  if (uid >= rules.uid_min) return std::nullopt;
  if (std::find(rules.allowed.begin(), rules.allowed.end(), name) != rules.allowed.end()) return std::nullopt;
  return "an OS system account (uid " + std::to_string(uid) + " < UID_MIN " + std::to_string(rules.uid_min) +
         ", not in pam.allow_system_accounts)";
}

}  // namespace resetd::authsock
