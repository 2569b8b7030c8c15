// Internal to accounts: what every way of setting a password has in common.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "resetd/accounts/throttle.h"
#include "resetd/common/result.h"
#include "resetd/storage/store.h"

namespace resetd::accounts {

// No Argon2 slot freed up in time (spec §5): 503 with Retry-After.
inline Error busy_error() {
  Error e = make_error("busy", "The appliance is busy; try again in a few seconds.");
  e.retry_after_s = 5;
  return e;
}

// The sign-in throttle or lockout said wait (429 with Retry-After, ≥ 1 s):
// the password step, the code step and proving one's own factor alike.
inline Error too_many_attempts(int64_t wait_s) {
  Error e = make_error("too_many_attempts", "Too many sign-in attempts. Try again later.");
  e.retry_after_s = static_cast<int>(wait_s > 1 ? wait_s : 1);
  return e;
}

// One guess at an account's secret, counted on both sign-in counters: the
// account's failure is reserved before the guess is checked (40 parallel
// guesses get no more checks than 40 sequential ones). Refused by the account's
// delay or lockout: the client's attempt, taken before, is given back.
inline Result<SignInThrottle::Reservation> reserve_attempt(RateLimiter& clients, SignInThrottle& accounts,
                                                           const std::string& client, const std::string& user) {
  auto slot = accounts.reserve(user);
  if (slot.allowed) return slot;
  clients.give_back(client);
  return too_many_attempts(slot.wait_s);
}

// The same with the client's attempt taken first.
inline Result<SignInThrottle::Reservation> take_attempt(RateLimiter& clients, SignInThrottle& accounts,
                                                        const std::string& client, const std::string& user) {
  if (int64_t wait = clients.take(client); wait > 0) return too_many_attempts(wait);
  return reserve_attempt(clients, accounts, client, user);
}

// The guess was never checked (busy hasher, directory unreachable): neither
// counter keeps it.
inline void give_back_attempt(RateLimiter& clients, SignInThrottle& accounts, const std::string& client,
                              const std::string& user, const SignInThrottle::Reservation& slot) {
  accounts.release(user, slot);
  clients.give_back(client);
}

// A pending sign-in (the second step's token) unknown, used up or past its time.
inline Error sign_in_expired() {
  return make_error("sign_in_expired", "This sign-in has expired. Enter your username and password again.");
}

// A wrong password, an unknown or disabled account: one answer for all.
inline Error bad_credentials() {
  return make_error("invalid_credentials", "The username or password is incorrect.");
}

// An audit detail with who asked appended ("locked out; uid 1000 (peer 0), tty pts/1").
inline std::string with_context(const std::string& detail, const std::string& context) {
  if (context.empty()) return detail;
  return detail.empty() ? context : detail + "; " + context;
}

// One email address, no display name: a local part and a domain, none of
// the characters that would let it carry a second address or a header.
inline bool valid_email(const std::string& addr) {
  if (addr.empty() || addr.size() > 254) return false;
  if (addr.find_first_of(" \t\r\n<>,;\"()[]\\") != std::string::npos) return false;
  auto at = addr.find('@');
  return at != std::string::npos && at > 0 && at + 1 < addr.size() &&
         addr.find('@', at + 1) == std::string::npos;
}

// Clears every trace of failed sign-ins (the persisted part of the throttle).
inline void clear_failures(storage::UserRecord& u) {
  u.failed_logins = 0;
  u.last_failed_at.reset();
  u.locked_until.reset();
}

// `u` now has the password behind `hash` (empty = none, e.g. waiting for a
// set-password link); failed sign-ins are forgotten.
inline void set_password(storage::UserRecord& u, std::string hash, bool must_change,
                         std::optional<int64_t> temp_expires_at, int64_t now) {
  u.password_hash = std::move(hash);
  u.must_change = must_change;
  u.temp_expires_at = temp_expires_at;
  u.password_changed_at = now;
  u.updated_at = now;
  clear_failures(u);
}

// Everything issued for the old password ends: sessions, unsent mails that
// carry a secret, set-password links and self-service codes.
inline void revoke_credentials(storage::Writer& w, int64_t user_id, int64_t now) {
  w.delete_sessions_for_user(user_id, 0);
  w.supersede_secret_messages(user_id);
  w.invalidate_link_tokens(user_id, now);
  w.invalidate_codes(user_id, now);
}

}  // namespace resetd::accounts
