// Which names resetd must never vouch for over PAM: the OS's own accounts
// (spec §12). A user admin can create a resetd account of any free name; if
// PAM then answered for `root` or `backup`, resetd's admins would choose the
// password of the appliance's superuser. Reading /etc/login.defs and the
// passwd database (NSS) is the only OS access here. Stateless, thread-safe
// (getpwnam_r).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace resetd::authsock {

struct OsAccountRules {
  uid_t uid_min = 1000;               // login.defs UID_MIN: first uid of a person's account
  std::vector<std::string> allowed;   // [pam] allow_system_accounts: system accounts resetd may vouch for
  uid_t uid_max = 60000;              // login.defs UID_MAX: above it are system ranges again
};

// UID_MIN of a login.defs file; 1000 (the shadow default) when the file, the
// key or a sane value (1–2^31) is missing.
uid_t read_uid_min(const std::string& login_defs_path = "/etc/login.defs");
// UID_MAX likewise; 60000 (the shadow default).
uid_t read_uid_max(const std::string& login_defs_path = "/etc/login.defs");

// Why `name` is reserved by the OS, or nullopt when resetd may vouch for it:
// no OS account of that name, or an account with uid_min <= uid <= uid_max,
// or a system account the operator listed. uid 0 and the overflow uid 65534 (nobody) are
// always reserved, listed or not. A passwd database that cannot be read (an
// NSS error) counts as reserved: fail closed.
std::optional<std::string> os_reserved(const std::string& name, const OsAccountRules& rules);

}  // namespace resetd::authsock
