// TOTP (RFC 6238 over RFC 4226): 6 digits, 30 s steps, HMAC-SHA-1 — what every
// authenticator app reads from an otpauth:// URI. HMAC from OpenSSL, random
// secrets from libsodium; both stay inside crypto/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace resetd::crypto {

inline constexpr int kTotpDigits = 6;
inline constexpr int64_t kTotpPeriodS = 30;

// A new shared secret: 20 random bytes (160 bits, RFC 4226's recommendation).
std::string totp_new_secret();
// RFC 4648 base32 without padding (A-Z2-7), how the URI carries the secret.
std::string base32_encode(const std::string& raw);
// Accepts lower case, spaces and padding; nullopt on any other character.
std::optional<std::string> base32_decode(const std::string& text);

// The time step of Unix time `now`.
inline int64_t totp_step(int64_t now) { return now / kTotpPeriodS; }
// The 6-digit code of `secret` (raw bytes) for `step`.
std::string totp_code(const std::string& secret, int64_t step);
// The step in [now_step - window, now_step + window] whose code is `code`,
// newest match first; nullopt when none. Every candidate is computed and
// compared in constant time.
std::optional<int64_t> totp_match(const std::string& secret, const std::string& code, int64_t now_step,
                                  int window = 1);

}  // namespace resetd::crypto
