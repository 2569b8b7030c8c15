// See totp.h.
#include "resetd/crypto/totp.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include "resetd/crypto/crypto.h"

namespace resetd::crypto {

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
}

std::string totp_new_secret() {
  std::string raw(20, '\0');
  randombytes_buf(raw.data(), raw.size());
  return raw;
}

std::string base32_encode(const std::string& raw) {
  std::string out;
  unsigned buf = 0;
  int bits = 0;
  for (unsigned char c : raw) {
    buf = (buf << 8) | c;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kAlphabet[(buf >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buf << (5 - bits)) & 31]);
  return out;
}

std::optional<std::string> base32_decode(const std::string& text) {
  std::string out;
  unsigned buf = 0;
  int bits = 0;
  for (char ch : text) {
    if (ch == ' ' || ch == '=') continue;
    int v = -1;
    if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
    if (ch >= 'A' && ch <= 'Z') v = ch - 'A';
    else if (ch >= '2' && ch <= '7') v = ch - '2' + 26;
    if (v < 0) return std::nullopt;
    buf = (buf << 5) | static_cast<unsigned>(v);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<char>((buf >> (bits - 8)) & 0xFF));
      bits -= 8;
    }
  }
  return out;
}

std::string totp_code(const std::string& secret, int64_t step) {
  unsigned char msg[8];
  uint64_t s = static_cast<uint64_t>(step);
  for (int i = 7; i >= 0; --i, s >>= 8) msg[i] = static_cast<unsigned char>(s & 0xFF);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()), msg, sizeof msg, mac, &len) || len < 20)
    return {};  // never equal to a typed code (callers compare 6 digits)
  const int off = mac[len - 1] & 0x0F;
  const uint32_t bin = (static_cast<uint32_t>(mac[off] & 0x7F) << 24) | (static_cast<uint32_t>(mac[off + 1]) << 16) |
                       (static_cast<uint32_t>(mac[off + 2]) << 8) | mac[off + 3];
  std::string code = std::to_string(bin % 1000000);
  sodium_memzero(mac, sizeof mac);
  return std::string(static_cast<size_t>(kTotpDigits) - code.size(), '0') + code;
}

std::optional<int64_t> totp_match(const std::string& secret, const std::string& code, int64_t now_step, int window) {
  if (code.size() != static_cast<size_t>(kTotpDigits)) return std::nullopt;
  std::optional<int64_t> found;
  for (int64_t st = now_step - window; st <= now_step + window; ++st) {
    const std::string c = totp_code(secret, st);
    if (!c.empty() && equal_ct(c, code)) found = st;  // the newest match wins
  }
  return found;
}

}  // namespace resetd::crypto
