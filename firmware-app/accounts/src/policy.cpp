#include "resetd/accounts/policy.h"

#include <zxcvbn.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "resetd/accounts/text.h"

namespace resetd::accounts {
namespace {

// The built-in banned list: the most common passwords of public breach
// corpora that are long enough to pass the length rule. Matched whole, folded.
const char* const kBuiltinBanned[] = {
    "password1234", "password12345", "password123456", "123456789012", "1234567890123",
    "qwertyuiop12", "qwerty123456", "iloveyou1234", "administrator", "administrator1",
    "welcome12345", "welcome123456", "changeme1234", "letmein12345", "passw0rd1234",
    "p@ssw0rd1234", "p@ssword1234", "password!234", "monkey123456", "football1234",
    "baseball1234", "superman1234", "qazwsxedcrfv", "1q2w3e4r5t6y", "zaq12wsxcde3",
    "aaaaaaaaaaaa", "abcdefghijkl", "abc123456789", "trustno11234", "sunshine1234",
    "princess1234", "dragon123456", "master123456", "shadow123456", "michael12345",
    "access123456", "starwars1234", "whatever1234", "computer1234", "internet1234",
    "resetd123456", "appliance123", "helpdesk1234", "helpdesk12345", "summer2024!!",
    "winter2024!!", "spring2025!!", "autumn2025!!", "company12345", "parola123456",
    "sifre1234567", "mima12345678",
};

bool contains(const std::string& hay, const std::string& needle) {
  return !needle.empty() && hay.find(needle) != std::string::npos;
}

}  // namespace

PolicyResult check_password(const std::string& raw, const PolicyContext& ctx,
                            const PolicySettings& s) {
  PolicyResult r;
  auto reject = [&](const char* code) {
    r.ok = false;
    if (std::find(r.reasons.begin(), r.reasons.end(), code) == r.reasons.end())
      r.reasons.push_back(code);
  };
  if (!valid_utf8(raw) || raw.find('\0') != std::string::npos) {
    reject("password_invalid");
    return r;
  }
  const std::string pw = nfc(raw);
  const size_t n = codepoints(pw);
  if (n < static_cast<size_t>(s.min_length)) reject("password_too_short");
  if (n > static_cast<size_t>(kMaxPasswordLength)) {
    reject("password_too_long");
    return r;  // don't feed zxcvbn a huge input
  }

  const std::string folded = fold(pw);
  std::vector<std::string> context;
  if (ctx.username.size() >= 3) context.push_back(fold(ctx.username));
  if (auto at = ctx.email.find('@'); at != std::string::npos && at >= 3)
    context.push_back(fold(ctx.email.substr(0, at)));
  for (auto& w : words3(ctx.display_name)) context.push_back(w);
  for (const auto& w : context)
    if (contains(folded, w)) reject("password_contains_user_info");

  for (const char* b : kBuiltinBanned)
    if (folded == b) reject("password_banned");
  for (const auto& b : s.banned) {
    std::string fb = fold(b);
    if (codepoints(fb) >= 3 && contains(folded, fb)) reject("password_banned");
  }

  std::vector<const char*> dict;
  for (const auto& w : context) dict.push_back(w.c_str());
  dict.push_back(nullptr);
  double bits = ZxcvbnMatch(pw.c_str(), dict.data(), nullptr);
  r.strength_bits = static_cast<int>(bits);
  if (r.strength_bits < s.min_strength_bits) reject("password_too_weak");
  return r;
}

std::string policy_to_json(const PolicySettings& s) {
  nlohmann::json j = {{"min_length", s.min_length},
                      {"min_strength_bits", s.min_strength_bits},
                      {"banned_words", s.banned}};
  return j.dump();
}

PolicySettings policy_from_json(const std::string& text) {
  PolicySettings s;
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return s;
  if (j.contains("min_length") && j["min_length"].is_number_integer())
    s.min_length = std::clamp(j["min_length"].get<int>(), 8, 64);
  if (j.contains("min_strength_bits") && j["min_strength_bits"].is_number_integer())
    s.min_strength_bits = std::clamp(j["min_strength_bits"].get<int>(), 0, 80);
  if (j.contains("banned_words") && j["banned_words"].is_array())
    for (const auto& w : j["banned_words"])
      if (w.is_string()) s.banned.push_back(w.get<std::string>());
  return s;
}

}  // namespace resetd::accounts
