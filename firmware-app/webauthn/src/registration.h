// Shared by webauthn.cpp and attestation.cpp (private to the module): a
// registration's checks before and after the attestation's own.
#pragma once

#include <fido.h>

#include <string_view>

#include "resetd/webauthn/webauthn.h"

namespace resetd::webauthn::detail {

// clientDataJSON (type "webauthn.create", challenge, origin), then the
// credential's type, client data hash, rp id and raw authenticator data.
Status prepare_registration(fido_cred_t* cred, const Expected& want, std::string_view client_data_json,
                            std::string_view authenticator_data);
// The rp id hash, user presence, ES256; the key as the store keeps it.
Result<NewKey> new_key(const fido_cred_t* cred, const Expected& want);

}  // namespace resetd::webauthn::detail
