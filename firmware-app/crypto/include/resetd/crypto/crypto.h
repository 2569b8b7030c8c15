// The libsodium wrapper: the only place that includes sodium.h.
// Every function here is thread-safe once init() has returned true.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

namespace resetd::crypto {

// sodium_init(); call once before anything else. False = unusable library.
bool init();

// OpenSSL (the TLS server, the relays' libcurl) reads its configuration file
// (OPENSSL_CONF, else the system's openssl.cnf) here, once per process, not at
// start-up: call it before the first TLS use. resetd starts OpenSSL without its
// configuration machinery and its crypto error texts and legacy name tables
// (~1.5 MB of idle RSS; openssl_config.cpp). Thread-safe.
void load_openssl_config();

// Cryptographically random bytes, base64url (no padding) of `bytes` random bytes.
std::string random_token(size_t bytes = 32);
// Uniform integer in [0, upper).
uint32_t random_uniform(uint32_t upper);
// `digits` random decimal digits (self-service codes).
std::string random_digits(int digits);
// A generated password: `length` characters from an alphabet without
// look-alikes (no 0/O/o, 1/l/I/i, 5/S, 2/Z ...), at least one of each class
// present in the alphabet.
std::string generate_password(size_t length = 16);
// A generated password people can read aloud and type on any keyboard layout
// (zh-TW, tr-TR kiosks) without Shift or AltGr: `chars` characters from
// lower-case letters and digits without look-alikes (no i/l/1, o/0, s/5,
// z/2, g/q/9, b/6/8 ...) and none of % = + # @ ?, in groups of five joined by
// "-". 20 characters: log2(23)*20 = 90.5 bits, more than generate_password(16)
// (about 88 bits); the hyphens add none and are part of the password.
std::string generate_readable_password(size_t chars = 20);

std::string sha256_hex(const std::string& data);
// HMAC-SHA256 of `message` keyed with `key` (any length), lowercase hex.
std::string hmac_sha256_hex(const std::string& key, const std::string& message);
// Constant-time equality of two strings of the same length (false otherwise).
bool equal_ct(const std::string& a, const std::string& b);

// While alive, hash slot waits on this thread also end at `deadline`: the
// HTTP layer sets it to "request complete + 5 s", so time a request spent
// queued for a worker counts against its 5 s (spec §5). Not nestable across
// threads; one per request on the worker's thread.
class SlotDeadline {
 public:
  explicit SlotDeadline(std::chrono::steady_clock::time_point deadline);
  ~SlotDeadline();
  SlotDeadline(const SlotDeadline&) = delete;
  SlotDeadline& operator=(const SlotDeadline&) = delete;

 private:
  std::optional<std::chrono::steady_clock::time_point> prev_;
};

// Argon2id hashing with fixed parameters and a bound on hashes running at once
// (each takes memlimit of RAM). Thread-safe.
class PasswordHasher {
 public:
  PasswordHasher(unsigned opslimit, unsigned memlimit_mib, unsigned max_concurrent,
                 std::chrono::milliseconds max_wait = std::chrono::seconds(5));
  // crypto_pwhash_str of `password` (already NFC-normalized UTF-8).
  // nullopt when no slot freed up within max_wait, or by the thread's
  // SlotDeadline if sooner (caller answers 503).
  std::optional<std::string> hash(const std::string& password);
  // true/false; nullopt when busy, as above.
  std::optional<bool> verify(const std::string& hash, const std::string& password);
  bool needs_rehash(const std::string& hash) const;
  // A well-formed Argon2id hash string with this hasher's parameters whose
  // salt and digest are random bytes: no password verifies against it, and
  // verifying costs exactly what verifying a real hash costs (the digest is
  // computed in full before the comparison). Stands in for unknown users
  // without hashing anything, so it is cheap to make (no slot, no memory).
  std::string unmatchable_hash() const;
  unsigned opslimit() const { return ops_; }
  size_t memlimit_bytes() const { return mem_; }

 private:
  bool acquire();
  void release();
  unsigned ops_;
  size_t mem_;
  unsigned max_;
  std::chrono::milliseconds max_wait_;
  unsigned running_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
};

// Authenticated encryption (XSalsa20-Poly1305) with the data dir's key.
// Thread-safe (immutable after construction).
class SecretBox {
 public:
  // Loads `path` (32 raw bytes) or, if missing, creates it with mode 0600.
  // nullopt + `error` filled when the file exists but is unreadable or bad.
  static std::optional<SecretBox> load_or_create(const std::string& path, std::string* error);
  // Loads only; nullopt when missing or bad.
  static std::optional<SecretBox> load(const std::string& path);
  explicit SecretBox(const std::string& key32);
  // nonce || ciphertext
  std::string seal(const std::string& plaintext) const;
  std::optional<std::string> open(const std::string& sealed) const;
  // The same as lowercase hex, the form settings keep in their JSON
  // ("password_sealed", "bind_password_sealed"). open_hex: nullopt when the
  // text is not hex or does not open with this key (e.g. the key file changed).
  std::string seal_hex(const std::string& plaintext) const;
  std::optional<std::string> open_hex(const std::string& hex) const;
  // Keyed MAC for deriving values bound to this key (e.g. CSRF tokens).
  std::string mac_hex(const std::string& message) const;

 private:
  std::string key_;
};

}  // namespace resetd::crypto
