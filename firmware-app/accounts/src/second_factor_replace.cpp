// AccountService: moving the authenticator app to a new phone (issue 23) in
// one step. The old app proves the owner (a current code or a recovery code,
// with the password) and keeps working while the new one is set up; the new
// secret waits in memory for this session, and its first code swaps the two
// in one write. Until then sign-in takes the old app's codes, and an account
// whose role requires a factor is never left without one.
#include "credentials.h"
#include "second_factor_codes.h"
#include "resetd/accounts/service.h"
#include "resetd/crypto/totp.h"

namespace resetd::accounts {

using storage::SecondFactorRecord;

namespace {
Error start_again() { return make_error("no_enrolment", "Start setting up the new authenticator app again."); }
}  // namespace

Result<TotpEnrolment> AccountService::begin_totp_replacement(const Actor& a, const std::optional<std::string>& password,
                                                             const std::string& code,
                                                             const std::string& recovery_code) {
  // The password and the old app's code (used up) or a recovery code.
  if (auto st = prove_own_second_factor(a, password, code, recovery_code, "second_factor_replace"); !st)
    return st.error();
  std::optional<SecondFactorRecord> f;
  store_.read([&](storage::Reader& r) { f = r.second_factor(a.user_id); });
  if (!f || !f->confirmed_at) return make_error("no_second_factor", "No authenticator app is set up for this account.");
  const std::string secret = crypto::totp_new_secret();
  TotpReplacement t{f->totp_sealed, box_.seal_hex(secret), clock_.mono_ms() + kReplaceS * 1000};
  store_.write([&](storage::Writer& w) {
    audit(w, a.username, a.client, "second_factor_replace", a.username, "started",
          "totp; the current app stays valid until the new one is confirmed");
  });
  {
    std::lock_guard<std::mutex> lock(pending_mu_);
    const int64_t mono = clock_.mono_ms();
    std::erase_if(totp_replacements_, [mono](const auto& kv) { return kv.second.expires_ms <= mono; });
    totp_replacements_[a.session_id] = std::move(t);  // a new start replaces this session's old one
  }
  return totp_enrolment(a, secret);
}

std::optional<Result<std::vector<std::string>>> AccountService::confirm_totp_replacement(const Actor& a,
                                                                                         const std::string& code) {
  std::optional<TotpReplacement> t;
  {
    std::lock_guard<std::mutex> lock(pending_mu_);
    auto it = totp_replacements_.find(a.session_id);
    if (it == totp_replacements_.end()) return std::nullopt;
    if (it->second.expires_ms > clock_.mono_ms()) t = it->second;
    else totp_replacements_.erase(it);
  }
  if (!t) return Result<std::vector<std::string>>(start_again());
  auto secret = box_.open_hex(t->new_sealed);
  if (!secret) return Result<std::vector<std::string>>(start_again());
  auto step = crypto::totp_match(*secret, code, crypto::totp_step(clock_.now()));
  // A wrong code keeps the replacement (and the old app): the owner may retype.
  if (!step)
    return Result<std::vector<std::string>>(
        make_error("wrong_totp_code", "The code is incorrect. Check the time on the phone.", "code"));
  client_failures_.give_back(a.client);
  std::vector<std::string> codes, hashes;
  if (!sf::make_recovery_codes(hasher_, kRecoveryCodes, codes, hashes)) return Result<std::vector<std::string>>(busy_error());
  bool done = false;
  store_.write([&](storage::Writer& w) {
    auto cur = w.second_factor(a.user_id);
    // Removed, reset at the console or replaced elsewhere in the meantime: not over that.
    if (!cur || !cur->confirmed_at || cur->totp_sealed != t->old_sealed) return;
    cur->totp_sealed = t->new_sealed;  // the one write: old app out, new app in
    cur->confirmed_at = clock_.now();
    cur->last_step = *step;  // the confirming code signs nobody in
    cur->recovery = hashes;  // new ten; the old ones stop working
    w.put_second_factor(*cur);
    const int64_t ended = w.delete_sessions_for_user(a.user_id, a.session_id);
    audit(w, a.username, a.client, "second_factor_replace", a.username, "ok",
          "totp replaced; the old app's codes and the old recovery codes no longer work; " +
              std::to_string(kRecoveryCodes) + " new recovery codes; " + std::to_string(ended) +
              " other sessions ended");
    done = true;
  });
  {
    std::lock_guard<std::mutex> lock(pending_mu_);
    auto it = totp_replacements_.find(a.session_id);
    if (it != totp_replacements_.end() && it->second.new_sealed == t->new_sealed) totp_replacements_.erase(it);
  }
  if (!done) return Result<std::vector<std::string>>(start_again());
  return Result<std::vector<std::string>>(std::move(codes));
}

}  // namespace resetd::accounts
