// Internal to accounts/: the shapes of second-factor codes, shared by the
// sign-in step (second_factor.cpp) and managing one's own factor
// (second_factor_manage.cpp).
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "resetd/crypto/crypto.h"

#include "resetd/storage/records.h"

namespace resetd::accounts::sf {

inline bool six_digits(const std::string& c) {
  return c.size() == 6 && c.find_first_not_of("0123456789") == std::string::npos;
}
// A recovery code is "N-abcde-fghjk": N (0-9, not secret) says which stored
// hash to check, so a code costs one Argon2id verification, not ten (ten
// would pass the 5 s request budget on a slow board). Typed in any case,
// with spaces, the hyphens optional. Empty when it cannot be one.
inline std::string normalize_recovery(const std::string& in) {
  std::string s;
  for (char c : in)
    if (c != ' ' && c != '-') s.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
  if (s.size() != 11 || s[0] < '0' || s[0] > '9') return {};
  return s.substr(0, 1) + "-" + s.substr(1, 5) + "-" + s.substr(6);
}
inline int codes_left(const storage::SecondFactorRecord& f) {
  return static_cast<int>(
      std::count_if(f.recovery.begin(), f.recovery.end(), [](const std::string& h) { return h != "-"; }));
}

// `n` new recovery codes ("0-…" to "N-…") into `codes` and their Argon2id
// hashes into `hashes`; false when the hasher is busy.
inline bool make_recovery_codes(crypto::PasswordHasher& hasher, int n, std::vector<std::string>& codes,
                                std::vector<std::string>& hashes) {
  for (int i = 0; i < n; ++i) {
    codes.push_back(std::to_string(i) + "-" + crypto::generate_readable_password(10));
    auto h = hasher.hash(codes.back());
    if (!h) return false;
    hashes.push_back(*h);
  }
  return true;
}

}  // namespace resetd::accounts::sf
