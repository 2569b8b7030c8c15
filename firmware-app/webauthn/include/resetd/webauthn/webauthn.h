// WebAuthn security keys (ES256) checked server-side. libfido2 parses the
// authenticator data and verifies the signatures; this interface is all the
// rest of resetd sees of it. libfido2 is not linked: this module dlopen()s
// libfido2.so.1 on the first security-key check (src/fido_lazy.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "resetd/common/result.h"

namespace resetd::webauthn {

// What the server expects of one ceremony: the relying party id (the host
// name the page is served on), the page's exact origin ("https://host[:port]")
// and the raw challenge it issued (single use; the caller consumes it).
struct Expected {
  std::string rp_id;
  std::string origin;
  std::string challenge;  // raw bytes
};

// A newly registered key, what the store keeps.
struct NewKey {
  std::string credential_id;  // raw bytes
  std::string public_key;     // ES256 x||y, 64 raw bytes
  uint32_t sign_count = 0;
};

// The stored key an assertion is checked against.
struct StoredKey {
  std::string public_key;  // as NewKey::public_key
  uint32_t sign_count = 0;
};

// navigator.credentials.create() with attestation "none": clientDataJSON and
// the raw authenticator data (AuthenticatorAttestationResponse.getAuthenticatorData()).
// Checks type "webauthn.create", challenge, origin, the rp id hash, user
// presence, and that the credential is ES256. Errors: webauthn_invalid,
// security_keys_unavailable (as available()).
Result<NewKey> verify_registration(const Expected& want, std::string_view client_data_json,
                                   std::string_view authenticator_data);

// navigator.credentials.get(): checks type "webauthn.get", challenge, origin,
// rp id hash, user presence and the signature over authData||SHA-256(clientDataJSON)
// with the stored key; a non-zero counter must grow. Returns the new counter.
// Errors: webauthn_invalid, webauthn_counter (a cloned key or a replay),
// security_keys_unavailable (as available()).
Result<uint32_t> verify_assertion(const Expected& want, const StoredKey& key, std::string_view client_data_json,
                                  std::string_view authenticator_data, std::string_view signature);

// Whether keys can be checked here: loads libfido2 on the first call (thread-safe,
// once). Error security_keys_unavailable, naming the library (and its package)
// when it is missing or lacks a function; every later call answers the same.
Status available();

// RFC 4648 §5 base64url without padding, how WebAuthn carries bytes in JSON.
std::string base64url_encode(std::string_view raw);
// Accepts missing padding; nullopt on any other character.
std::optional<std::string> base64url_decode(std::string_view text);

// The rp id of a host name, or nullopt when browsers refuse WebAuthn there
// (an IPv4/IPv6 literal or an empty host). Port and brackets are stripped.
std::optional<std::string> rp_id_for_host(std::string_view host);

}  // namespace resetd::webauthn
