#define BOOST_TEST_MODULE crypto
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <vector>

#include <filesystem>
#include <future>
#include <cmath>
#include <cctype>
#include <set>
#include <sys/stat.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#include <cstdlib>
#include <fstream>

#include "resetd/crypto/crypto.h"

using namespace resetd::crypto;
namespace fs = std::filesystem;

struct Init {
  Init() {
    if (!init()) throw std::runtime_error("sodium_init failed");
  }
};
BOOST_TEST_GLOBAL_FIXTURE(Init);

BOOST_AUTO_TEST_SUITE(CryptoTests)

BOOST_AUTO_TEST_CASE(generate_password_noLookAlikesAndAllClasses) {
  // pairs the generator avoids: 0/O/o, 1/l/I/i/|, 5/S/s, 2/Z/z, 8/B, 6/G, g/q (so 9 may stay), rn/m
  const std::string lookalikes = "0Oo1lIi|5Ss2Zz8B6Ggqm";
  std::set<std::string> seen;
  for (int i = 0; i < 500; ++i) {
    std::string p = generate_password(16);
    BOOST_TEST(p.size() == 16u);
    BOOST_TEST(p.find_first_of(lookalikes) == std::string::npos);
    BOOST_TEST(p.find_first_of("abcdefhjknprtwxy") != std::string::npos);
    BOOST_TEST(p.find_first_of("ACDEFHJKLMNPRTUVWXY") != std::string::npos);
    BOOST_TEST(p.find_first_of("3479") != std::string::npos);
    seen.insert(p);
  }
  BOOST_TEST(seen.size() == 500u);
}

// log2 of the number of strings generate_password(16) can return: 16 of its
// alphabet's characters with each of the four classes present (inclusion-
// exclusion over the classes left out), the strength the readable style must
// at least match.
static double mixed_entropy_bits(const std::vector<size_t>& classes, int length) {
  double count = 0;
  for (unsigned mask = 0; mask < (1u << classes.size()); ++mask) {
    size_t n = 0;
    int left_out = 0;
    for (size_t c = 0; c < classes.size(); ++c) {
      if (mask & (1u << c)) ++left_out;
      else n += classes[c];
    }
    count += (left_out % 2 ? -1.0 : 1.0) * std::pow(static_cast<double>(n), length);
  }
  return std::log2(count);
}

BOOST_AUTO_TEST_CASE(generate_readable_password_alphabetGroupsAndEntropy) {
  // Nothing that needs Shift/AltGr on a zh-TW or tr-TR keyboard, nothing read
  // or seen two ways (Turkish i/ı, 0/O, 1/l, 5/s, 2/z, 6/b, 8/B, 9/g/q: the
  // letter of each pair is left out, or both; m, which "rn" reads as).
  const std::string banned = "%=+#@?ABCDEFGHIJKLMNOPQRSTUVWXYZ0Oo1lIi|SsZz8B6Ggqıİm";
  std::set<char> alphabet;
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    std::string p = generate_readable_password();
    BOOST_TEST(p.size() == 23u);  // 20 characters in four groups of five
    BOOST_TEST(p[5] == '-');
    BOOST_TEST(p[11] == '-');
    BOOST_TEST(p[17] == '-');
    for (size_t k = 0; k < p.size(); ++k) {
      if (k % 6 == 5) continue;
      BOOST_TEST(std::string(banned).find(p[k]) == std::string::npos, "banned character " << p[k] << " in " << p);
      BOOST_TEST((std::islower(static_cast<unsigned char>(p[k])) || std::isdigit(static_cast<unsigned char>(p[k]))));
      alphabet.insert(p[k]);
    }
    seen.insert(p);
  }
  BOOST_TEST(seen.size() == 2000u);
  // Every character of the alphabet turns up in 40,000 draws; the alphabet
  // as seen gives the strength: at least that of generate_password(16).
  std::set<char> lower, upper, digit, symbol;
  for (int i = 0; i < 2000; ++i)
    for (char c : generate_password(16)) {
      if (std::islower(static_cast<unsigned char>(c))) lower.insert(c);
      else if (std::isupper(static_cast<unsigned char>(c))) upper.insert(c);
      else if (std::isdigit(static_cast<unsigned char>(c))) digit.insert(c);
      else symbol.insert(c);
    }
  const double mixed = mixed_entropy_bits({lower.size(), upper.size(), digit.size(), symbol.size()}, 16);
  const double readable = 20 * std::log2(static_cast<double>(alphabet.size()));
  BOOST_TEST_MESSAGE("readable " << readable << " bits (" << alphabet.size() << " characters), symbols " << mixed << " bits");
  BOOST_TEST(alphabet.size() >= 20u);
  BOOST_TEST(mixed > 85.0);
  BOOST_TEST(readable >= mixed);
  // Longer on request (a policy's min_length), same groups.
  std::string longer = generate_readable_password(32);
  BOOST_TEST(longer.size() == 32u + 6u);
}

BOOST_AUTO_TEST_CASE(random_digits_lengthAndDigitsOnly) {
  std::string d = random_digits(8);
  BOOST_TEST(d.size() == 8u);
  BOOST_TEST(d.find_first_not_of("0123456789") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(hasher_hashVerifyAndRehash) {
  PasswordHasher h(1, 8, 1);
  auto hash = h.hash("correct horse");
  BOOST_REQUIRE(hash.has_value());
  BOOST_TEST(hash->rfind("$argon2id$", 0) == 0u);
  BOOST_TEST(*h.verify(*hash, "correct horse"));
  BOOST_TEST(!*h.verify(*hash, "wrong horse"));
  BOOST_TEST(!h.needs_rehash(*hash));
  PasswordHasher stronger(2, 8, 1);
  BOOST_TEST(stronger.needs_rehash(*hash));
}

BOOST_AUTO_TEST_CASE(unmatchable_hash_wellFormedNeverVerifiesAndCostsAFullVerification) {
  PasswordHasher h(2, 16, 1);
  const std::string fake = h.unmatchable_hash();
  BOOST_TEST(fake.rfind("$argon2id$v=19$m=16384,t=2,p=1$", 0) == 0);
  BOOST_TEST(!h.needs_rehash(fake));  // libsodium parses it and finds our parameters
  BOOST_TEST(h.unmatchable_hash() != fake);
  const auto real = h.hash("violet-tractor-moonbeam-42");
  BOOST_REQUIRE(real);
  // Same cost by construction: the prefix and needs_rehash() above say libsodium
  // reads our own parameters out of it. What is left to show is that verifying
  // it runs the whole computation: a malformed string fails in microseconds
  // (ratio near 0.001). Measured as this thread's CPU time (Argon2 with p=1 runs
  // in the caller), interleaved, the fastest of 5 of each: other processes on a
  // busy CI machine do not count against it. Under ASan the ratio is bimodal,
  // about 0.28 or 3.5 from run to run (whichever call gets fresh pages from the
  // sanitizer's allocator pays their faults); Release gives 0.95-1.03. So the
  // bounds are 0.05 and 20: 50 times above an early parse failure, and still
  // catching a wildly wrong parameter set.
  const auto cpu_now = [] {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
  };
  double fastest_real = 1e9, fastest_fake = 1e9;
  for (int i = 0; i < 5; ++i) {
    const double t0 = cpu_now();
    BOOST_TEST(*h.verify(*real, "wrong-password-123") == false);
    const double t1 = cpu_now();
    BOOST_TEST(*h.verify(fake, "wrong-password-123") == false);
    const double t2 = cpu_now();
    fastest_real = std::min(fastest_real, t1 - t0);
    fastest_fake = std::min(fastest_fake, t2 - t1);
  }
  const double ratio = fastest_fake / fastest_real;
  BOOST_TEST_MESSAGE("unmatchable/real verification CPU time, fastest of 5 each: " << ratio);
  BOOST_TEST(ratio > 0.05);
  BOOST_TEST(ratio < 20.0);
}

BOOST_AUTO_TEST_CASE(hasher_allSlotsBusy_givesUpAfterMaxWait) {
  // One slot and a long first hash (10 passes over 256 MiB, about 1-3 s). On a
  // loaded machine the first may not hold the slot yet when the second asks:
  // then the second gets it at once and we try again (a timing race is not
  // what this test is about).
  PasswordHasher h(10, 256, 1, std::chrono::milliseconds(1));
  bool refused = false;
  for (int attempt = 0; attempt < 3 && !refused; ++attempt) {
    auto first = std::async(std::launch::async, [&] { return h.hash("a"); });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto second = h.hash("b");
    BOOST_TEST(first.get().has_value());
    refused = !second.has_value();
  }
  BOOST_TEST(refused);
}

BOOST_AUTO_TEST_CASE(hasher_slotDeadlinePassed_givesUpAtOnceDespiteLongMaxWait) {
  // A request that already spent its 5 s queued for a worker: the wait for a
  // busy slot ends at its deadline, not max_wait after the hash was asked for.
  // On a loaded machine the first hash may not hold the slot yet when the
  // second asks: then the second gets it at once and we try again. The first
  // hash is made long (about 1-3 s: 10 passes over 256 MiB) so that a fast or
  // idle machine does not finish it inside the 200 ms before the second asks.
  PasswordHasher h(10, 256, 1, std::chrono::seconds(30));
  bool refused = false;
  for (int attempt = 0; attempt < 3 && !refused; ++attempt) {
    auto first = std::async(std::launch::async, [&] { return h.hash("a"); });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const auto t = std::chrono::steady_clock::now();
    std::optional<std::string> second;
    {
      SlotDeadline d(t - std::chrono::milliseconds(1));
      second = h.hash("b");
    }
    const auto waited = std::chrono::steady_clock::now() - t;
    BOOST_TEST(first.get().has_value());
    if (!second) {
      refused = true;
      BOOST_TEST(waited < std::chrono::seconds(5));
    }
  }
  BOOST_TEST(refused);
  // Outside the scope the thread has no deadline again.
  BOOST_TEST(h.hash("c").has_value());
}

BOOST_AUTO_TEST_CASE(secretbox_sealOpenAndTamper) {
  SecretBox b(std::string(32, 'x'));
  std::string sealed = b.seal("temporary password: abc");
  BOOST_TEST(sealed.find("abc") == std::string::npos);
  BOOST_TEST(*b.open(sealed) == "temporary password: abc");
  sealed[sealed.size() - 1] ^= 1;
  BOOST_TEST(!b.open(sealed).has_value());
  SecretBox other(std::string(32, 'y'));
  BOOST_TEST(!other.open(b.seal("x")).has_value());
}

BOOST_AUTO_TEST_CASE(secretbox_sealHex_opensWithItsKeyOnly_refusesNonHex) {
  SecretBox b(std::string(32, 'x'));
  const std::string hex = b.seal_hex("bind secret");
  BOOST_TEST(hex.find_first_not_of("0123456789abcdef") == std::string::npos);
  BOOST_TEST(*b.open_hex(hex) == "bind secret");
  BOOST_TEST(!SecretBox(std::string(32, 'y')).open_hex(hex).has_value());
  BOOST_TEST(!b.open_hex(hex.substr(1)).has_value());             // odd length
  BOOST_TEST(!b.open_hex("zz" + hex.substr(2)).has_value());      // not hex
  BOOST_TEST(!b.open_hex("").has_value());
}

BOOST_AUTO_TEST_CASE(secretbox_loadOrCreate_makes0600KeyAndReloadsIt) {
  fs::path dir = fs::temp_directory_path() / ("resetd-key-" + random_token(6));
  fs::create_directories(dir);
  std::string err;
  auto a = SecretBox::load_or_create((dir / "secret.key").string(), &err);
  BOOST_REQUIRE(a.has_value());
  struct stat st {};
  ::stat((dir / "secret.key").c_str(), &st);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  auto b = SecretBox::load((dir / "secret.key").string());
  BOOST_REQUIRE(b.has_value());
  BOOST_TEST(*b->open(a->seal("same key")) == "same key");
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(hmac_sha256_knownVector) {
  // RFC 4231 test case 2
  BOOST_TEST(hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
             "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

BOOST_AUTO_TEST_SUITE_END()

// openssl_config.cpp: OpenSSL starts without its configuration machinery, crypto
// error texts and legacy name tables (its .preinit_array step ran in this binary,
// linked in through load_openssl_config), and load_openssl_config() reads the file.
BOOST_AUTO_TEST_CASE(openssl_config_is_read_on_first_tls_use_not_at_start) {
  const fs::path dir = fs::temp_directory_path() / ("resetd-osslcnf-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path cnf = dir / "openssl.cnf";
  std::ofstream(cnf) << "openssl_conf = openssl_init\n[openssl_init]\noid_section = oids\n"
                        "[oids]\nresetdTestOid = 1.3.6.1.4.1.99999.7\n";
  ::setenv("OPENSSL_CONF", cnf.c_str(), 1);
  // What cpp-httplib's and libcurl's own initialisation ask for: nothing happens.
  OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG | OPENSSL_INIT_LOAD_CRYPTO_STRINGS |
                          OPENSSL_INIT_ADD_ALL_CIPHERS | OPENSSL_INIT_ADD_ALL_DIGESTS,
                      nullptr);
  BOOST_TEST(OBJ_sn2nid("resetdTestOid") == NID_undef);
  BOOST_TEST(ERR_reason_error_string(ERR_PACK(ERR_LIB_EVP, 0, EVP_R_BAD_DECRYPT)) == nullptr);
  load_openssl_config();
  BOOST_TEST(OBJ_sn2nid("resetdTestOid") != NID_undef);
  load_openssl_config();  // once per process
  ::unsetenv("OPENSSL_CONF");
  fs::remove_all(dir);
}
