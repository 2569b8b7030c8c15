// Caller verification at the helpdesk (issue 23 item 2): before a reset, a
// one-time code goes to the user's factor on file (the alternate address
// through the relay, or their authenticator app), the caller reads it back
// and the admin types it in. The code is never shown to the admin.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "resetd/accounts/roles.h"

namespace resetd::accounts {

// Per resetting admin's role ([caller_verification] in the config file):
// off = not offered; optional = offered, an unverified reset says so;
// required = a reset needs a fresh verification or an override reason.
enum class CallerPolicy { Off, Optional, Required };
std::optional<CallerPolicy> parse_caller_policy(const std::string& s);
const char* caller_policy_name(CallerPolicy p);

// "alice@home.example" -> "a***@home.example"; what the admin and the audit see.
std::string mask_address(const std::string& email);

// One verification as the admin sees it: never the code.
struct CallerChallenge {
  std::string id;           // names it in later calls; not a secret (bound to the admin)
  std::string method;       // "email" | "totp"
  std::string destination;  // masked address (email), empty for totp
  int64_t expires_at = 0;   // unverified: the code's end; verified: the reset's deadline
  int tries_left = 0;
  bool verified = false;
};

// Kept in memory only, the code as a keyed hash: a restart ends every
// verification (the admin asks again), and no code is ever at rest.
struct CallerEntry {
  int64_t user_id = 0;
  int64_t admin_id = 0;
  std::string method;
  std::string destination;
  std::string code_mac;  // email: MAC of the code; totp: empty
  int64_t expires_at = 0;
  int tries = 0;
  bool verified = false;
};

}  // namespace resetd::accounts
