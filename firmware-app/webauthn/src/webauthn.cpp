// Registration and assertion checks. The JSON of clientDataJSON is checked
// here; everything binary (authenticator data, COSE key, ECDSA signature) is
// parsed and verified by libfido2, loaded on the first check (fido_lazy.h).
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "fido_lazy.h"
#include "resetd/webauthn/webauthn.h"

namespace resetd::webauthn {
namespace {

constexpr uint8_t kFlagUserPresent = 0x01;

Error invalid(std::string message) { return make_error("webauthn_invalid", std::move(message)); }

// libfido2's functions, or the answer that security keys are unavailable here.
Result<const detail::FidoApi*> fido() {
  std::string why;
  if (const detail::FidoApi* f = detail::fido_api(&why)) return f;
  return make_error("security_keys_unavailable", "Security keys are unavailable on this server: " + why + ".");
}

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

std::string sha256(std::string_view data) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  SHA256(bytes(data), data.size(), reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

bool same(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// The clientDataJSON checks of WebAuthn §7.1 steps 7-10 / §7.2 steps 11-14.
Status check_client_data(const Expected& want, std::string_view client_data_json, std::string_view type) {
  if (want.challenge.empty() || want.rp_id.empty() || want.origin.empty()) return invalid("No ceremony is pending.");
  const auto doc = nlohmann::json::parse(client_data_json, nullptr, false);
  if (!doc.is_object()) return invalid("clientDataJSON is not a JSON object.");
  const auto str = [&](const char* key) -> std::optional<std::string> {
    const auto it = doc.find(key);
    if (it == doc.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  if (str("type") != std::string(type)) return invalid("clientDataJSON has the wrong type.");
  const auto challenge = str("challenge");
  const auto raw = challenge ? base64url_decode(*challenge) : std::nullopt;
  if (!raw || !same(*raw, want.challenge)) return invalid("The challenge does not match the pending sign-in.");
  if (str("origin") != want.origin) return invalid("The key answered for another origin.");
  if (const auto it = doc.find("crossOrigin"); it != doc.end() && !(it->is_boolean() && !it->get<bool>()))
    return invalid("Cross-origin use is not allowed.");
  return ok_status();
}

// Deleters through the loaded table (never null once an object was made).
struct CredFree {
  const detail::FidoApi* f;
  void operator()(fido_cred_t* c) const { f->fido_cred_free(&c); }
};
struct AssertFree {
  const detail::FidoApi* f;
  void operator()(fido_assert_t* a) const { f->fido_assert_free(&a); }
};
struct PkFree {
  const detail::FidoApi* f;
  void operator()(es256_pk_t* p) const { f->es256_pk_free(&p); }
};

}  // namespace

Status available() {
  if (auto f = fido(); !f) return f.error();
  return ok_status();
}

Result<NewKey> verify_registration(const Expected& want, std::string_view client_data_json,
                                   std::string_view authenticator_data) {
  if (auto s = check_client_data(want, client_data_json, "webauthn.create"); !s) return s.error();
  if (authenticator_data.size() < 37) return invalid("The authenticator data is too short.");
  auto lib = fido();
  if (!lib) return lib.error();
  const detail::FidoApi& f = **lib;
  std::unique_ptr<fido_cred_t, CredFree> cred(f.fido_cred_new(), CredFree{&f});
  if (!cred) return make_error("internal_error", "Out of memory.");
  const std::string cdh = sha256(client_data_json);
  // The type first: libfido2 rejects a COSE key of any other algorithm.
  if (f.fido_cred_set_type(cred.get(), COSE_ES256) != FIDO_OK ||
      f.fido_cred_set_clientdata_hash(cred.get(), bytes(cdh), cdh.size()) != FIDO_OK ||
      f.fido_cred_set_rp(cred.get(), want.rp_id.c_str(), nullptr) != FIDO_OK)
    return make_error("internal_error", "libfido2 refused the registration parameters.");
  if (f.fido_cred_set_authdata_raw(cred.get(), bytes(authenticator_data), authenticator_data.size()) != FIDO_OK)
    return invalid("The authenticator data is malformed or not an ES256 key.");
  // Attestation "none" carries no signature for fido_cred_verify to check, so
  // the checks it would make on the authenticator data are made here.
  const std::string_view raw(reinterpret_cast<const char*>(f.fido_cred_authdata_raw_ptr(cred.get())),
                             f.fido_cred_authdata_raw_len(cred.get()));
  if (raw.size() < 32 || !same(raw.substr(0, 32), sha256(want.rp_id)))
    return invalid("The key was made for another site.");
  if ((f.fido_cred_flags(cred.get()) & kFlagUserPresent) == 0) return invalid("The key did not see the user.");
  if (f.fido_cred_type(cred.get()) != COSE_ES256 || f.fido_cred_pubkey_len(cred.get()) != 64 ||
      f.fido_cred_id_len(cred.get()) == 0 || f.fido_cred_id_len(cred.get()) > 1023)
    return invalid("Only ES256 keys are supported.");
  NewKey key;
  key.credential_id.assign(reinterpret_cast<const char*>(f.fido_cred_id_ptr(cred.get())), f.fido_cred_id_len(cred.get()));
  key.public_key.assign(reinterpret_cast<const char*>(f.fido_cred_pubkey_ptr(cred.get())),
                        f.fido_cred_pubkey_len(cred.get()));
  key.sign_count = f.fido_cred_sigcount(cred.get());
  return key;
}

Result<uint32_t> verify_assertion(const Expected& want, const StoredKey& key, std::string_view client_data_json,
                                  std::string_view authenticator_data, std::string_view signature) {
  if (auto s = check_client_data(want, client_data_json, "webauthn.get"); !s) return s.error();
  if (authenticator_data.size() < 37 || signature.empty()) return invalid("The assertion is incomplete.");
  auto lib = fido();
  if (!lib) return lib.error();
  const detail::FidoApi& f = **lib;
  std::unique_ptr<es256_pk_t, PkFree> pk(f.es256_pk_new(), PkFree{&f});
  if (!pk || f.es256_pk_from_ptr(pk.get(), key.public_key.data(), key.public_key.size()) != FIDO_OK)
    return make_error("internal_error", "The stored key is unusable.");
  std::unique_ptr<fido_assert_t, AssertFree> as(f.fido_assert_new(), AssertFree{&f});
  if (!as) return make_error("internal_error", "Out of memory.");
  const std::string cdh = sha256(client_data_json);
  if (f.fido_assert_set_clientdata_hash(as.get(), bytes(cdh), cdh.size()) != FIDO_OK ||
      f.fido_assert_set_rp(as.get(), want.rp_id.c_str()) != FIDO_OK || f.fido_assert_set_count(as.get(), 1) != FIDO_OK ||
      f.fido_assert_set_up(as.get(), FIDO_OPT_TRUE) != FIDO_OK)
    return make_error("internal_error", "libfido2 refused the assertion parameters.");
  if (f.fido_assert_set_authdata_raw(as.get(), 0, bytes(authenticator_data), authenticator_data.size()) != FIDO_OK ||
      f.fido_assert_set_sig(as.get(), 0, bytes(signature), signature.size()) != FIDO_OK)
    return invalid("The assertion is malformed.");
  // Checks the rp id hash, user presence and the ECDSA signature.
  if (f.fido_assert_verify(as.get(), 0, COSE_ES256, pk.get()) != FIDO_OK)
    return invalid("The security key's answer does not verify.");
  const uint32_t count = f.fido_assert_sigcount(as.get(), 0);
  if ((count != 0 || key.sign_count != 0) && count <= key.sign_count)
    return make_error("webauthn_counter", "The key's counter went backwards: a cloned key or a replay.");
  return count;
}

}  // namespace resetd::webauthn
