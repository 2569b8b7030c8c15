// gen_users DATA_DIR N [OPSLIMIT MEMLIMIT_MIB]: adds N users to an initialized
// data dir (`resetd init` first) exactly as the API stores them — usernames
// lowercase ASCII, search_text from accounts::fold() of the same four fields
// AccountService uses, a real crypto_pwhash_str hash (of the password
// "bench-violet-tractor-moonbeam-42" with the given parameters, default 2 / 64;
// computed once and shared, since hashing 100,000 passwords would take hours),
// every 10th user disabled, every 7th with an alternate address, names mixing
// English, Turkish and Chinese. Through storage::Store, so every index, trigger
// and migration applies. All users in one transaction, with a writer page
// cache big enough to hold the whole database: in 5,000-user transactions with
// SQLite's default 2 MiB cache every commit rewrote most pages of every index
// (their keys arrive in no order), so 1,000,000 users took over 20 minutes.
// The rows, indexes and triggers are the same either way (the FTS index
// flushes its segments by size, not by transaction). Benchmarks only.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "resetd/accounts/text.h"
#include "resetd/crypto/crypto.h"
#include "resetd/storage/store.h"

namespace {
struct Name {
  const char* display;
  const char* ascii;
};
const Name kFirst[] = {{"Ayşe", "ayse"},   {"Mehmet", "mehmet"}, {"İsmail", "ismail"},
                       {"Irmak", "irmak"}, {"Emily", "emily"},   {"James", "james"},
                       {"Olivia", "olivia"}, {"Noah", "noah"},   {"偉", "wei"},
                       {"美玲", "meiling"}, {"Zeynep", "zeynep"}, {"Emre", "emre"},
                       {"Sophia", "sophia"}, {"Liam", "liam"},   {"Işıl", "isil"},
                       {"Chen", "chen"}};
const Name kLast[] = {{"Yıldız", "yildiz"}, {"Öztürk", "ozturk"}, {"Şahin", "sahin"},
                      {"Kılıç", "kilic"},   {"Smith", "smith"},   {"Johnson", "johnson"},
                      {"Brown", "brown"},   {"Garcia", "garcia"}, {"王", "wang"},
                      {"李", "li"},         {"Zhang", "zhang"},   {"Liu", "liu"},
                      {"Demir", "demir"},   {"Çelik", "celik"},   {"Taylor", "taylor"},
                      {"Lee", "lee"}};
const char* kLocales[] = {"en", "tr-TR", "zh-TW"};
}  // namespace

int main(int argc, char** argv) {
  if ((argc != 3 && argc != 5) || !resetd::crypto::init()) {
    std::fprintf(stderr, "usage: gen_users DATA_DIR N [OPSLIMIT MEMLIMIT_MIB]\n");
    return 2;
  }
  const long n = std::atol(argv[2]);
  const unsigned ops = argc == 5 ? static_cast<unsigned>(std::atoi(argv[3])) : 2;
  const unsigned mem = argc == 5 ? static_cast<unsigned>(std::atoi(argv[4])) : 64;
  resetd::crypto::PasswordHasher hasher(ops, mem, 1);
  const auto hash = hasher.hash(resetd::accounts::nfc("bench-violet-tractor-moonbeam-42"));
  if (!hash) return 1;
  resetd::storage::OpenOptions o;
  o.create = false;
  o.cache_mib = static_cast<int>(std::min<long>(8192, 64 + n / 250));  // 4 KiB a user (~1.5 on disk)
  auto store = resetd::storage::Store::open(argv[1], o);
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const long batch = n;
  for (long start = 0; start < n; start += batch) {
    store->write([&](resetd::storage::Writer& w) {
      for (long i = start; i < n && i < start + batch; ++i) {
        const Name& f = kFirst[static_cast<size_t>(i) % 16];
        const Name& l = kLast[static_cast<size_t>(i / 16) % 16];
        resetd::storage::UserRecord u;
        char num[24];
        std::snprintf(num, sizeof num, "%06ld", i);
        u.username = std::string(f.ascii) + "." + l.ascii + "." + num;
        const bool cjk = static_cast<unsigned char>(l.display[0]) >= 0xe0;
        u.display_name = cjk ? std::string(l.display) + f.display : std::string(f.display) + " " + l.display;
        u.email = u.username + "@example.org";
        if (i % 7 == 0) u.alternate_email = std::string(f.ascii) + num + "@home.example.net";
        u.role = i % 500 == 0 ? "helpdesk_admin" : "user";
        u.locale = kLocales[static_cast<size_t>(i) % 3];
        u.search_text = resetd::accounts::fold(u.username + "\n" + u.display_name + "\n" + u.email +
                                               "\n" + u.alternate_email);
        u.password_hash = *hash;
        u.password_changed_at = now - (i % 400) * 86400 / 4;
        u.disabled = i % 10 == 9;
        u.created_at = now - (n - i);
        u.updated_at = u.created_at;
        w.insert_user(u);
      }
    });
  }
  std::printf("gen_users: %ld users added to %s\n", n, argv[1]);
  return 0;
}
