// Password policy (spec §5, NIST SP 800-63B): length in code points after
// NFC, zxcvbn-c entropy estimate, context words, banned lists. Each rejection
// has its own code. Pure; thread-safe.
#pragma once

#include <string>
#include <vector>

namespace resetd::accounts {

struct PolicySettings {
  int min_length = 12;         // 8–64
  int min_strength_bits = 30;  // 0–80
  std::vector<std::string> banned;  // the site's words (substring match, folded)
};

constexpr int kMaxPasswordLength = 256;

struct PolicyContext {
  std::string username;
  std::string email;
  std::string display_name;
};

struct PolicyResult {
  bool ok = true;
  std::vector<std::string> reasons;  // password_too_short, password_too_long, password_too_weak,
                                     // password_contains_user_info, password_banned, password_invalid
  int strength_bits = 0;
};

// `password` as received (any UTF-8); normalized to NFC inside.
PolicyResult check_password(const std::string& password, const PolicyContext& ctx,
                            const PolicySettings& s);

// JSON text <-> settings, for the settings table ("password_policy").
std::string policy_to_json(const PolicySettings& s);
PolicySettings policy_from_json(const std::string& json);

}  // namespace resetd::accounts
