// The verifier against a software ES256 key (vectors.h, made with Python's
// `cryptography` by make_vectors.py): a good registration and assertion pass,
// and each forgery an attacker could send is refused.
#define BOOST_TEST_MODULE webauthn
#include <boost/test/unit_test.hpp>

#include "resetd/webauthn/webauthn.h"
#include "vectors.h"

namespace wa = resetd::webauthn;

namespace {
std::string hex(const char* h) {
  std::string out;
  for (size_t i = 0; h[i] && h[i + 1]; i += 2) out += static_cast<char>(std::stoi(std::string(h + i, 2), nullptr, 16));
  return out;
}
wa::Expected want(const char* challenge) { return {vectors::kRpId, vectors::kOrigin, hex(challenge)}; }
wa::StoredKey stored(uint32_t count = 0) { return {hex(vectors::public_key), count}; }
}  // namespace

BOOST_AUTO_TEST_CASE(registration_of_a_software_key) {
  auto key = wa::verify_registration(want(vectors::reg_challenge), hex(vectors::reg_cdj), hex(vectors::reg_auth));
  BOOST_REQUIRE_MESSAGE(key.ok(), (key.ok() ? std::string() : key.error().message));
  BOOST_TEST(key->credential_id == hex(vectors::cred_id));
  BOOST_TEST(key->public_key == hex(vectors::public_key));
  BOOST_TEST(key->sign_count == 0u);
}

BOOST_AUTO_TEST_CASE(registration_refusals) {
  const auto cdj = hex(vectors::reg_cdj);
  // Another challenge (another ceremony), another origin, another rp id.
  BOOST_TEST(!wa::verify_registration(want(vectors::get_challenge), cdj, hex(vectors::reg_auth)).ok());
  wa::Expected other_origin = want(vectors::reg_challenge);
  other_origin.origin = "https://resetd.test:9443";
  BOOST_TEST(!wa::verify_registration(other_origin, cdj, hex(vectors::reg_auth)).ok());
  BOOST_TEST(!wa::verify_registration(want(vectors::reg_challenge), cdj, hex(vectors::reg_auth_other_rp)).ok());
  BOOST_TEST(!wa::verify_registration(want(vectors::reg_challenge), cdj, hex(vectors::reg_auth_no_up)).ok());
  // An assertion's clientData is not a registration's.
  BOOST_TEST(!wa::verify_registration(want(vectors::get_challenge), hex(vectors::get_cdj), hex(vectors::reg_auth)).ok());
  // No ceremony pending, garbage.
  BOOST_TEST(!wa::verify_registration({vectors::kRpId, vectors::kOrigin, ""}, cdj, hex(vectors::reg_auth)).ok());
  BOOST_TEST(!wa::verify_registration(want(vectors::reg_challenge), "{", hex(vectors::reg_auth)).ok());
  BOOST_TEST(!wa::verify_registration(want(vectors::reg_challenge), cdj, "short").ok());
  auto truncated = hex(vectors::reg_auth);
  truncated.resize(truncated.size() - 5);
  BOOST_TEST(!wa::verify_registration(want(vectors::reg_challenge), cdj, truncated).ok());
}

BOOST_AUTO_TEST_CASE(assertion_of_a_software_key) {
  auto count = wa::verify_assertion(want(vectors::get_challenge), stored(), hex(vectors::get_cdj),
                                    hex(vectors::get_auth), hex(vectors::get_sig));
  BOOST_REQUIRE_MESSAGE(count.ok(), (count.ok() ? std::string() : count.error().message));
  BOOST_TEST(*count == 1u);
  // A key that never counts (counter 0) stays usable.
  BOOST_TEST(wa::verify_assertion(want(vectors::get_challenge), stored(), hex(vectors::get0_cdj),
                                  hex(vectors::get0_auth), hex(vectors::get0_sig))
                 .ok());
}

BOOST_AUTO_TEST_CASE(assertion_refusals) {
  const auto w = want(vectors::get_challenge);
  const auto cdj = hex(vectors::get_cdj), auth = hex(vectors::get_auth), sig = hex(vectors::get_sig);
  // The challenge of another sign-in.
  BOOST_TEST(!wa::verify_assertion(want(vectors::reg_challenge), stored(), cdj, auth, sig).ok());
  // Signed by another key.
  BOOST_TEST(!wa::verify_assertion(w, stored(), hex(vectors::other_cdj), hex(vectors::other_auth),
                                   hex(vectors::other_sig)).ok());
  BOOST_TEST(!wa::verify_assertion(w, {hex(vectors::other_public_key), 0}, cdj, auth, sig).ok());
  // Properly signed, but for another origin / rp id, or without user presence.
  BOOST_TEST(!wa::verify_assertion(w, stored(), hex(vectors::evil_cdj), hex(vectors::evil_auth),
                                   hex(vectors::evil_sig)).ok());
  BOOST_TEST(!wa::verify_assertion(w, stored(), hex(vectors::evilrp_cdj), hex(vectors::evilrp_auth),
                                   hex(vectors::evilrp_sig)).ok());
  BOOST_TEST(!wa::verify_assertion(w, stored(), hex(vectors::no_up_cdj), hex(vectors::no_up_auth),
                                   hex(vectors::no_up_sig)).ok());
  // Tampered bytes: clientData, authenticator data (counter), signature.
  auto cdj2 = cdj;
  cdj2.insert(cdj2.size() - 1, ",\"x\":1");
  BOOST_TEST(!wa::verify_assertion(w, stored(), cdj2, auth, sig).ok());
  auto auth2 = auth;
  auth2.back() = static_cast<char>(auth2.back() + 1);
  BOOST_TEST(!wa::verify_assertion(w, stored(), cdj, auth2, sig).ok());
  auto sig2 = sig;
  sig2[sig2.size() - 3] = static_cast<char>(sig2[sig2.size() - 3] ^ 1);
  BOOST_TEST(!wa::verify_assertion(w, stored(), cdj, auth, sig2).ok());
  BOOST_TEST(!wa::verify_assertion(w, stored(), cdj, auth, "").ok());
}

BOOST_AUTO_TEST_CASE(sign_counter) {
  const auto w = want(vectors::get_challenge);
  // Counter 1 after a stored 1: the same answer again (a replay) or a clone.
  auto again = wa::verify_assertion(w, stored(1), hex(vectors::get_cdj), hex(vectors::get_auth), hex(vectors::get_sig));
  BOOST_REQUIRE(!again.ok());
  BOOST_TEST(again.error().code == "webauthn_counter");
  // A counter that stops counting after it had counted.
  BOOST_TEST(!wa::verify_assertion(w, stored(1), hex(vectors::get0_cdj), hex(vectors::get0_auth),
                                   hex(vectors::get0_sig)).ok());
  auto next = wa::verify_assertion(w, stored(1), hex(vectors::get2_cdj), hex(vectors::get2_auth), hex(vectors::get2_sig));
  BOOST_REQUIRE(next.ok());
  BOOST_TEST(*next == 2u);
}

BOOST_AUTO_TEST_CASE(base64url_round_trip) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\x00\x01"}) {
    BOOST_TEST(wa::base64url_decode(wa::base64url_encode(s)).value_or("?") == s);
  }
  BOOST_TEST(wa::base64url_encode("\xfb\xff") == "-_8");
  BOOST_TEST(!wa::base64url_decode("a+b/").has_value());
  BOOST_TEST(!wa::base64url_decode("Zh").has_value());  // non-canonical trailing bits
  BOOST_TEST(!wa::base64url_decode("a").has_value());
}

BOOST_AUTO_TEST_CASE(rp_id_only_for_host_names) {
  BOOST_TEST(wa::rp_id_for_host("Resetd.Test:8443").value_or("") == "resetd.test");
  BOOST_TEST(wa::rp_id_for_host("localhost").value_or("") == "localhost");
  BOOST_TEST(!wa::rp_id_for_host("127.0.0.1:8443").has_value());
  BOOST_TEST(!wa::rp_id_for_host("192.168.1.10").has_value());
  BOOST_TEST(!wa::rp_id_for_host("[::1]:8443").has_value());
  BOOST_TEST(!wa::rp_id_for_host("::1").has_value());
  BOOST_TEST(!wa::rp_id_for_host("").has_value());
  BOOST_TEST(!wa::rp_id_for_host("a b").has_value());
}
