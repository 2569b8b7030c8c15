// libFuzzer target: accounts' Unicode rules (NFC, folding, username rules)
// and the password policy. Invariants: nfc() and fold() are idempotent and
// keep valid UTF-8 valid; valid_username() accepts only 1–64 of a-z 0-9 . _ -;
// check_password() answers only its documented reasons and rejects passwords
// over the length bound and those with invalid UTF-8.
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>

#include <fuzzer/FuzzedDataProvider.h>

#include "resetd/accounts/policy.h"
#include "resetd/accounts/text.h"

using namespace resetd::accounts;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  const int min_length = fdp.ConsumeIntegralInRange(8, 64);
  const int min_bits = fdp.ConsumeIntegralInRange(0, 80);
  PolicyContext ctx;
  ctx.username = fdp.ConsumeRandomLengthString(70);
  ctx.email = fdp.ConsumeRandomLengthString(70);
  ctx.display_name = fdp.ConsumeRandomLengthString(70);
  PolicySettings s;
  s.min_length = min_length;
  s.min_strength_bits = min_bits;
  s.banned.push_back(fdp.ConsumeRandomLengthString(20));
  const std::string pw = fdp.ConsumeRemainingBytesAsString();

  for (const std::string* t : {&pw, static_cast<const std::string*>(&ctx.username), static_cast<const std::string*>(&ctx.display_name)}) {
    const std::string& x = *t;
    if (valid_utf8(x)) {
      const std::string n = nfc(x);
      check(valid_utf8(n));
      check(nfc(n) == n);
      const std::string f = fold(x);
      check(valid_utf8(f));
      check(fold(f) == f);
      for (const std::string& w : words3(x)) check(codepoints(w) >= 3 && valid_utf8(w));
    } else {
      check(nfc(x) == x);
    }
    const std::string lowered = ascii_lower(x);
    if (valid_username(lowered)) {
      check(!lowered.empty() && lowered.size() <= 64);
      for (char ch : lowered)
        check((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-');
    }
  }

  const PolicyResult r = check_password(pw, ctx, s);
  static const std::set<std::string> kReasons = {"password_too_short", "password_too_long",
                                                 "password_too_weak", "password_contains_user_info",
                                                 "password_banned", "password_invalid"};
  check(r.ok == r.reasons.empty());
  for (const std::string& why : r.reasons) check(kReasons.count(why) == 1);
  if (!valid_utf8(pw) || codepoints(pw) > static_cast<size_t>(kMaxPasswordLength)) check(!r.ok);
  if (valid_utf8(pw) && codepoints(nfc(pw)) < static_cast<size_t>(min_length)) check(!r.ok);
  return 0;
}
