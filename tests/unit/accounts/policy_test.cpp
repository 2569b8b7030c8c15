#include <boost/test/unit_test.hpp>

#include <algorithm>

#include "resetd/accounts/policy.h"
#include "resetd/crypto/crypto.h"

using namespace resetd::accounts;

namespace {
bool has(const PolicyResult& r, const std::string& code) {
  return std::find(r.reasons.begin(), r.reasons.end(), code) != r.reasons.end();
}
const PolicySettings kDefault{};
}  // namespace

BOOST_AUTO_TEST_SUITE(PasswordPolicy)

BOOST_AUTO_TEST_CASE(check_strongPassword_passes) {
  auto r = check_password("violet-tractor-moonbeam-42", {"ayse", "ayse@example.com", "Ayşe Yılmaz"}, kDefault);
  BOOST_TEST(r.ok);
  BOOST_TEST(r.reasons.empty());
  BOOST_TEST(r.strength_bits >= 30);
}

BOOST_AUTO_TEST_CASE(check_shortPassword_tooShort) {
  auto r = check_password("Xq7#pL2", {}, kDefault);
  BOOST_TEST(!r.ok);
  BOOST_TEST(has(r, "password_too_short"));
}

BOOST_AUTO_TEST_CASE(check_lengthCountsCodePointsNotBytes) {
  // 12 Chinese characters = 36 bytes but 12 code points: long enough.
  const std::string twelve = "我的密碼是很長的一句話啊";
  auto r = check_password(twelve, {}, kDefault);
  BOOST_TEST(!has(r, "password_too_short"));
  // 11 code points: too short although 33 bytes.
  auto r2 = check_password("我的密碼是很長的一句話", {}, kDefault);
  BOOST_TEST(has(r2, "password_too_short"));
}

BOOST_AUTO_TEST_CASE(check_over256CodePoints_tooLong) {
  std::string s;
  for (int i = 0; i < 257; ++i) s += "ş";
  BOOST_TEST(has(check_password(s, {}, kDefault), "password_too_long"));
}

BOOST_AUTO_TEST_CASE(check_nfcAndNfdCountAlike) {
  // "é" decomposed (e + U+0301) counts as one code point after NFC.
  std::string nfd;
  for (int i = 0; i < 11; ++i) nfd += "e\xCC\x81";
  BOOST_TEST(has(check_password(nfd, {}, kDefault), "password_too_short"));
}

BOOST_AUTO_TEST_CASE(check_containsUsername_caseInsensitive) {
  auto r = check_password("xx-MEHMET-summer-trip-77", {"mehmet", "m@example.com", ""}, kDefault);
  BOOST_TEST(has(r, "password_contains_user_info"));
}

BOOST_AUTO_TEST_CASE(check_turkishDottedCapitalI_matchesUsernameWithI) {
  // username "irmak": İRMAK, IRMAK and ırmak all count as containing it.
  for (const std::string pw : {"bahçe-İRMAK-kuşu-1907", "bahçe-IRMAK-kuşu-1907", "bahçe-ırmak-kuşu-1907"}) {
    BOOST_TEST_CONTEXT(pw) {
      BOOST_TEST(has(check_password(pw, {"irmak", "", ""}, kDefault), "password_contains_user_info"));
    }
  }
}

BOOST_AUTO_TEST_CASE(check_displayNameWordOf3Letters_rejected) {
  auto r = check_password("kırmızı-Yılmaz-bisiklet-8", {"ayse", "", "Ayşe Yılmaz"}, kDefault);
  BOOST_TEST(has(r, "password_contains_user_info"));
  // "Li" has 2 letters only: not a context word.
  auto r2 = check_password("violet-tractor-li-moonbeam", {"wei", "", "Li Wei"}, kDefault);
  BOOST_TEST(!has(r2, "password_contains_user_info"));
}

BOOST_AUTO_TEST_CASE(check_chineseDisplayName_wordMatched) {
  auto r = check_password("我叫王小明今天天氣很好呢", {"xiaoming", "", "王小明"}, kDefault);
  BOOST_TEST(has(r, "password_contains_user_info"));
}

BOOST_AUTO_TEST_CASE(check_emailLocalPart_rejected) {
  auto r = check_password("long-jdoe42-password-x", {"john", "jdoe42@example.com", ""}, kDefault);
  BOOST_TEST(has(r, "password_contains_user_info"));
}

BOOST_AUTO_TEST_CASE(check_builtinBanned_rejected) {
  BOOST_TEST(has(check_password("Password1234", {}, kDefault), "password_banned"));
}

BOOST_AUTO_TEST_CASE(check_siteBannedWord_rejectedAsSubstring) {
  PolicySettings s;
  s.banned = {"contoso"};
  BOOST_TEST(has(check_password("violet-CONTOSO-moonbeam", {}, s), "password_banned"));
}

BOOST_AUTO_TEST_CASE(check_weakButLong_tooWeak) {
  BOOST_TEST(has(check_password("aaaaaaaaaaaaaaaa", {}, kDefault), "password_too_weak"));
}

BOOST_AUTO_TEST_CASE(check_invalidUtf8_invalid) {
  BOOST_TEST(has(check_password(std::string("abc\xff\xfe" "defghijklm"), {}, kDefault), "password_invalid"));
}

BOOST_AUTO_TEST_CASE(check_minStrengthZero_weakAllowed) {
  PolicySettings s;
  s.min_strength_bits = 0;
  BOOST_TEST(!has(check_password("aaaaaaaaaaaaaaaa", {}, s), "password_too_weak"));
}

BOOST_AUTO_TEST_CASE(generated_passwords_alwaysPassPolicy) {
  BOOST_REQUIRE(resetd::crypto::init());
  for (int i = 0; i < 300; ++i) {
    std::string pw = resetd::crypto::generate_password(16);
    BOOST_TEST_CONTEXT(pw) {
      BOOST_TEST(pw.size() == 16u);
      BOOST_TEST(check_password(pw, {"someone", "someone@example.com", "Some One"}, kDefault).ok);
    }
  }
}

BOOST_AUTO_TEST_CASE(policy_json_roundTripsAndClamps) {
  PolicySettings s;
  s.min_length = 20;
  s.min_strength_bits = 50;
  s.banned = {"acme"};
  auto back = policy_from_json(policy_to_json(s));
  BOOST_TEST(back.min_length == 20);
  BOOST_TEST(back.min_strength_bits == 50);
  BOOST_TEST(back.banned.size() == 1u);
  BOOST_TEST(policy_from_json(R"({"min_length": 3})").min_length == 8);
}

BOOST_AUTO_TEST_SUITE_END()
