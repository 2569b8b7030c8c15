// AccountService's internal state types: what a reset passes from its slow
// step (prepare) to its write, and what the service keeps in memory between
// the requests of a sign-in and of a second factor's enrolment or replacement
// (second_factor.cpp, security_keys.cpp, second_factor_replace.cpp), and its
// cache of authenticated sessions. Private to the service: its class names
// them (AccountService::Prepared, ...); split from service.h so the class
// reads as its methods. A pending sign-in is keyed by a hash of its token;
// a new TOTP secret waits sealed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "resetd/accounts/throttle.h"
#include "resetd/storage/store.h"

namespace resetd::accounts::detail {

// A reset's new secret, made before its write (Argon2 outside any transaction).
struct Prepared {
  std::string hash;                       // new hash (delivery password)
  std::optional<std::string> password;    // plaintext, for the answer and mails
  std::optional<std::string> link_token;  // for delivery link
  bool generated = false;
};

// A password that passed check_sign_in, and what its check found.
struct PasswordCheck {
  storage::UserRecord user;
  std::optional<std::string> rehash;  // new hash when parameters changed
  std::optional<bool> dir_must_change;  // directory users: the bind said "must change"
  std::optional<std::string> dir_role;  // directory users: role from [directory.roles]
  SignInThrottle::Reservation slot;     // the attempt check_sign_in reserved
};

// A WebAuthn challenge the server issued: raw bytes, for this rp id and origin.
struct KeyCeremony {
  std::string challenge;
  std::string rp_id;
  std::string origin;
  std::string name;        // enrolment: the key's label
  int64_t expires_ms = 0;  // monotonic
};

// A sign-in waiting for its second step, by SHA-256 of the pending token.
struct PendingSignIn {
  PasswordCheck checked;
  std::string client;
  std::string user_agent;
  int64_t expires_ms = 0;  // monotonic
  int tries = 0;
  std::optional<KeyCeremony> key;  // the security-key challenge of this sign-in
};

// An app being replaced: the new secret (sealed) waits here, the old one
// stays in the store until the new one's first code.
struct TotpReplacement {
  std::string old_sealed;
  std::string new_sealed;
  int64_t expires_ms = 0;  // monotonic
};

// authenticate()'s read of one session, kept while the store's
// data_generation() stays the same.
struct SessionHit {
  uint64_t generation = 0;
  storage::SessionRecord session;
  storage::UserRecord user;  // without its password hash
  bool second_factor = false;  // a confirmed factor
  std::string factors;         // Actor::factors
};

}  // namespace resetd::accounts::detail
