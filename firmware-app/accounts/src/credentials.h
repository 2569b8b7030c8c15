// Internal to accounts: what every way of setting a password has in common.
#pragma once

#include <optional>
#include <string>

#include "resetd/storage/store.h"

namespace resetd::accounts {

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
