// libFuzzer target: the JSON body layer of every route without the database:
// body_object() (the dispatcher's parse), the typed field readers each route
// uses (opt_string/opt_bool/opt_int/req_string, reset_options with its
// notify array), the static reset-option validation and the stored password
// policy JSON. Any exception other than ApiError (e.g. a nlohmann type_error
// escaping as a 500) is a finding and crashes the target.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "api.h"
#include "resetd/accounts/policy.h"
#include "resetd/accounts/service.h"

using namespace resetd;
using namespace resetd::http;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

// Every body key the routes read (routes_*.cpp).
const char* const kStringKeys[] = {
    "username", "password", "current_password", "new_password", "display_name", "email",
    "alternate_email", "role", "locale", "mode", "delivery", "kind", "host", "security", "from",
    "ca_file", "url", "secret", "to", "token", "code", "q", "sort"};
const char* const kBoolKeys[] = {"require_change", "notify_user", "disabled", "never_expires",
                                 "enabled"};
const char* const kIntKeys[] = {"port", "timeout_s", "days", "reminder_days", "audit_days",
                                "min_length", "min_strength_bits", "user_id"};

template <typename F>
void expect_api_error_or_value(F&& f) {
  try {
    f();
  } catch (const ApiError& e) {
    check(e.status == 400 || e.status == 422);
    check(!e.error.code.empty() && !e.error.message.empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  json b;
  try {
    b = body_object(body);
  } catch (const ApiError& e) {
    check(e.status == 400 && e.error.code == "malformed_json");
    return 0;
  }
  for (const char* k : kStringKeys) expect_api_error_or_value([&] { (void)opt_string(b, k); });
  for (const char* k : kStringKeys) expect_api_error_or_value([&] { (void)req_string(b, k); });
  for (const char* k : kBoolKeys) expect_api_error_or_value([&] { (void)opt_bool(b, k); });
  for (const char* k : kIntKeys) expect_api_error_or_value([&] { (void)opt_int(b, k); });
  expect_api_error_or_value([&] {
    accounts::ResetOptions o = reset_options(b);
    for (bool bulk : {false, true}) {
      Status st = accounts::AccountService::validate_options(o, bulk);
      if (!st) check(status_for(st.error().code) == 422 || status_for(st.error().code) == 400);
    }
  });
  // The policy settings are stored as JSON text; a damaged row must not crash the reader.
  accounts::PolicySettings p = accounts::policy_from_json(body);
  accounts::PolicySettings q = accounts::policy_from_json(accounts::policy_to_json(p));
  check(p.min_length == q.min_length && p.min_strength_bits == q.min_strength_bits && p.banned == q.banned);
  // Answers are dumped with error_handler_t::replace: any decoded string must serialize.
  (void)b.dump(-1, ' ', false, json::error_handler_t::replace);
  return 0;
}
