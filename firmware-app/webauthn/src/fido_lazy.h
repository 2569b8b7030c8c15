// libfido2 is loaded on the first security-key check, not at start: with it
// come libcbor, libudev and the rest of its dependencies, which a server whose
// users never touch a security key (and every CLI command) never maps.
// webauthn.cpp reaches libfido2 only through the table below, resolved all at
// once with dlsym, so a library that loads has every function resetd calls.
//
// A new libfido2 call in webauthn.cpp needs its line in RESETD_FIDO_FUNCTIONS
// (without one it does not link: the binary does not link libfido2).
#pragma once

#include <fido.h>
#include <fido/es256.h>

#include <string>

namespace resetd::webauthn::detail {

#define RESETD_FIDO_FUNCTIONS(X)                                                                               \
  X(fido_cred_new) X(fido_cred_free) X(fido_cred_set_type) X(fido_cred_set_clientdata_hash) X(fido_cred_set_rp) \
  X(fido_cred_set_authdata_raw) X(fido_cred_authdata_raw_ptr) X(fido_cred_authdata_raw_len) X(fido_cred_flags)  \
  X(fido_cred_type) X(fido_cred_pubkey_ptr) X(fido_cred_pubkey_len) X(fido_cred_id_ptr) X(fido_cred_id_len)     \
  X(fido_cred_sigcount) X(fido_assert_new) X(fido_assert_free) X(fido_assert_set_clientdata_hash)               \
  X(fido_assert_set_rp) X(fido_assert_set_count) X(fido_assert_set_up) X(fido_assert_set_authdata_raw)          \
  X(fido_assert_set_sig) X(fido_assert_verify) X(fido_assert_sigcount) X(es256_pk_new) X(es256_pk_free)        \
  X(es256_pk_from_ptr)

// decltype keeps each real declaration's type (unevaluated: no reference to the symbol).
struct FidoApi {
#define RESETD_FIDO_MEMBER(name) decltype(&::name) name = nullptr;
  RESETD_FIDO_FUNCTIONS(RESETD_FIDO_MEMBER)
#undef RESETD_FIDO_MEMBER
};

// The library's functions, or null with *error set to why it is unusable
// (the library missing, naming it and its package, or a function missing).
// Thread-safe; dlopen()s libfido2.so.1 at most once, on the first call.
const FidoApi* fido_api(std::string* error);

}  // namespace resetd::webauthn::detail
