// OS accounts: UID_MIN and UID_MAX from login.defs, the uid from the passwd database.
#include "resetd/authsock/os_accounts.h"

#include <errno.h>
#include <pwd.h>
#include <string.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace resetd::authsock {

namespace {
// One uid key of a login.defs file, or `fallback` when the file, the key or a
// sane value (1–2^31) is missing.
uid_t read_login_defs_uid(const std::string& path, const char* want, uid_t fallback) {
  std::ifstream in(path);
  std::string line;
  uid_t found = fallback;
  while (in && std::getline(in, line)) {
    std::istringstream s(line);
    std::string key, value;
    if (!(s >> key >> value) || key != want) continue;
    // login.defs allows decimal, 0x hex and 0 octal (strtol base 0)
    errno = 0;
    char* end = nullptr;
    const long v = std::strtol(value.c_str(), &end, 0);
    if (errno == 0 && end && *end == '\0' && v >= 1 && v <= 0x7fffffffL) found = static_cast<uid_t>(v);
    else found = fallback;
  }
  return found;
}
}  // namespace

uid_t read_uid_min(const std::string& path) { return read_login_defs_uid(path, "UID_MIN", 1000); }
uid_t read_uid_max(const std::string& path) { return read_login_defs_uid(path, "UID_MAX", 60000); }

std::optional<std::string> os_reserved(const std::string& name, const OsAccountRules& rules) {
  passwd pw{}, *res = nullptr;
  std::string buf(16384, '\0');
  int rc;
  while ((rc = ::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &res)) == ERANGE && buf.size() < (1u << 20))
    buf.resize(buf.size() * 2);
  // getpwnam_r: 0 and no result = no such account; ENOENT/ESRCH/EBADF are
  // documented "not found" answers of some NSS back ends too. EPERM is one
  // as well, but it also means a back end that refused the lookup: an account
  // resetd could not see may be there, so it counts as unreadable (fail closed).
  if (rc == 0 && !res) return std::nullopt;
  if (rc != 0 && rc != ENOENT && rc != ESRCH && rc != EBADF)
    return std::string("the OS account database could not be read (") + strerror(rc) + ")";
  if (!res) return std::nullopt;
  const uid_t uid = res->pw_uid;
  if (uid == 0) return std::string("an OS superuser account (uid 0)");
  if (uid == 65534) return std::string("the OS account nobody (uid 65534)");
  if (uid >= rules.uid_min && uid <= rules.uid_max) return std::nullopt;
  if (std::find(rules.allowed.begin(), rules.allowed.end(), name) != rules.allowed.end()) return std::nullopt;
  if (uid > rules.uid_max)  // systemd's dynamic users, nfsnobody and the like
    return "an OS system account (uid " + std::to_string(uid) + " > UID_MAX " + std::to_string(rules.uid_max) +
           ", not in pam.allow_system_accounts)";
  return "an OS system account (uid " + std::to_string(uid) + " < UID_MIN " + std::to_string(rules.uid_min) +
         ", not in pam.allow_system_accounts)";
}

}  // namespace resetd::authsock
