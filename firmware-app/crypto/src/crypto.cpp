#include "resetd/crypto/crypto.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

namespace resetd::crypto {

bool init() { return sodium_init() >= 0; }

std::string random_token(size_t bytes) {
  std::string raw(bytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  std::string out(sodium_base64_ENCODED_LEN(bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(raw.data()),
                    raw.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::char_traits<char>::length(out.c_str()));
  sodium_memzero(raw.data(), raw.size());
  return out;
}

uint32_t random_uniform(uint32_t upper) { return randombytes_uniform(upper); }

std::string random_digits(int digits) {
  std::string s;
  for (int i = 0; i < digits; ++i) s.push_back(static_cast<char>('0' + randombytes_uniform(10)));
  return s;
}

std::string generate_password(size_t length) {
  // No look-alikes: 0 O o, 1 l I i, 5 S s, 2 Z z, 8 B, 6 G, 9 g q, u v; no m, which
  // "rn" is read as (r and n stay: without m, "rn" has one reading).
  static const std::string kLower = "abcdefhjknprtwxy";
  static const std::string kUpper = "ACDEFHJKLMNPRTUVWXY";
  static const std::string kDigit = "3479";
  static const std::string kSymbol = "#%+=?@";
  static const std::string kAll = kLower + kUpper + kDigit + kSymbol;
  if (length < 4) length = 4;
  for (;;) {
    std::string p;
    for (size_t i = 0; i < length; ++i)
      p.push_back(kAll[randombytes_uniform(static_cast<uint32_t>(kAll.size()))]);
    auto has = [&](const std::string& set) { return p.find_first_of(set) != std::string::npos; };
    if (has(kLower) && has(kUpper) && has(kDigit) && has(kSymbol)) return p;
  }
}

std::string generate_readable_password(size_t chars) {
  // generate_password's lower case letters (no look-alikes, no m for "rn") and
  // the digits whose letter twin is out: 22 characters, 89.2 bits in 20.
  static const std::string kAlphabet = "abcdefhjknprtwxy234579";
  if (chars < 4) chars = 4;
  std::string p;
  for (size_t i = 0; i < chars; ++i) {
    if (i > 0 && i % 5 == 0) p.push_back('-');
    p.push_back(kAlphabet[randombytes_uniform(static_cast<uint32_t>(kAlphabet.size()))]);
  }
  return p;
}

std::string sha256_hex(const std::string& data) {
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  char hex[sizeof h * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, h, sizeof h);
  return hex;
}

std::string hmac_sha256_hex(const std::string& key, const std::string& message) {
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(message.data()),
                                message.size());
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_final(&st, mac);
  char hex[sizeof mac * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
  return hex;
}

bool equal_ct(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

PasswordHasher::PasswordHasher(unsigned opslimit, unsigned memlimit_mib, unsigned max_concurrent,
                               std::chrono::milliseconds max_wait)
    : ops_(opslimit),
      mem_(static_cast<size_t>(memlimit_mib) * 1024u * 1024u),
      max_(max_concurrent == 0 ? 1 : max_concurrent),
      max_wait_(max_wait) {}

namespace {
thread_local std::optional<std::chrono::steady_clock::time_point> t_slot_deadline;
}

SlotDeadline::SlotDeadline(std::chrono::steady_clock::time_point deadline) : prev_(t_slot_deadline) {
  t_slot_deadline = deadline;
}
SlotDeadline::~SlotDeadline() { t_slot_deadline = prev_; }

bool PasswordHasher::acquire() {
  auto until = std::chrono::steady_clock::now() + max_wait_;
  if (t_slot_deadline && *t_slot_deadline < until) until = *t_slot_deadline;
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_until(lock, until, [&] { return running_ < max_; })) return false;
  ++running_;
  return true;
}

void PasswordHasher::release() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    --running_;
  }
  cv_.notify_one();
}

std::optional<std::string> PasswordHasher::hash(const std::string& password) {
  if (!acquire()) return std::nullopt;
  char out[crypto_pwhash_STRBYTES];
  int rc = crypto_pwhash_str_alg(out, password.data(), password.size(), ops_, mem_,
                                 crypto_pwhash_ALG_ARGON2ID13);
  release();
  if (rc != 0) return std::nullopt;  // out of memory: treat as busy
  return std::string(out);
}

std::optional<bool> PasswordHasher::verify(const std::string& hash, const std::string& password) {
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
  if (!acquire()) return std::nullopt;
  int rc = crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size());
  release();
  return rc == 0;
}

std::string PasswordHasher::unmatchable_hash() const {
  // libsodium's format: $argon2id$v=19$m=<KiB>,t=<ops>,p=1$<salt>$<digest>,
  // both in unpadded standard base64; 16-byte salt, 32-byte digest.
  auto b64 = [](size_t n) {
    std::string raw(n, '\0');
    randombytes_buf(raw.data(), raw.size());
    std::string out(sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL_NO_PADDING), '\0');
    sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(raw.data()),
                      raw.size(), sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
    out.resize(std::char_traits<char>::length(out.c_str()));
    return out;
  };
  return "$argon2id$v=19$m=" + std::to_string(mem_ / 1024) + ",t=" + std::to_string(ops_) +
         ",p=1$" + b64(crypto_pwhash_SALTBYTES) + "$" + b64(32);
}

bool PasswordHasher::needs_rehash(const std::string& hash) const {
  return crypto_pwhash_str_needs_rehash(hash.c_str(), ops_, mem_) != 0;
}

SecretBox::SecretBox(const std::string& key32) : key_(key32) {}

std::optional<SecretBox> SecretBox::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (key.size() != crypto_secretbox_KEYBYTES) return std::nullopt;
  return SecretBox(key);
}

std::optional<SecretBox> SecretBox::load_or_create(const std::string& path, std::string* error) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    auto b = load(path);
    if (!b && error) *error = "secret key " + path + " is unreadable or not 32 bytes";
    return b;
  }
  std::string key(crypto_secretbox_KEYBYTES, '\0');
  randombytes_buf(key.data(), key.size());
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (error) *error = "cannot create " + tmp;
    return std::nullopt;
  }
  bool ok = ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    if (error) *error = "cannot write " + path;
    return std::nullopt;
  }
  return SecretBox(key);
}

std::string SecretBox::seal(const std::string& plaintext) const {
  std::string out(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plaintext.size(), '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(nonce + crypto_secretbox_NONCEBYTES,
                        reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(),
                        nonce, reinterpret_cast<const unsigned char*>(key_.data()));
  return out;
}

std::optional<std::string> SecretBox::open(const std::string& sealed) const {
  if (sealed.size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) return std::nullopt;
  const auto* nonce = reinterpret_cast<const unsigned char*>(sealed.data());
  const size_t clen = sealed.size() - crypto_secretbox_NONCEBYTES;
  std::string out(clen - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(out.data()),
                                 nonce + crypto_secretbox_NONCEBYTES, clen, nonce,
                                 reinterpret_cast<const unsigned char*>(key_.data())) != 0)
    return std::nullopt;
  return out;
}

std::string SecretBox::seal_hex(const std::string& plaintext) const {
  const std::string bin = seal(plaintext);
  std::string hex(bin.size() * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), reinterpret_cast<const unsigned char*>(bin.data()), bin.size());
  hex.pop_back();  // the terminating NUL
  return hex;
}

std::optional<std::string> SecretBox::open_hex(const std::string& hex) const {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string bin(hex.size() / 2, '\0');
  size_t len = 0;
  const char* end = nullptr;
  // No characters ignored: the whole text must be hex digits.
  if (sodium_hex2bin(reinterpret_cast<unsigned char*>(bin.data()), bin.size(), hex.data(), hex.size(), nullptr,
                     &len, &end) != 0 ||
      end != hex.data() + hex.size() || len != bin.size())
    return std::nullopt;
  return open(bin);
}

std::string SecretBox::mac_hex(const std::string& message) const {
  return hmac_sha256_hex(key_, message);
}

}  // namespace resetd::crypto
