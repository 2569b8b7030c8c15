#define BOOST_TEST_MODULE storage
#include <boost/test/unit_test.hpp>

#include <SQLiteCpp/SQLiteCpp.h>
#include <filesystem>
#include <algorithm>
#include <fstream>
#include <sstream>

#include "resetd/storage/store.h"

using namespace resetd::storage;
namespace fs = std::filesystem;

namespace {
struct TempDir {
  fs::path p;
  TempDir() {
    p = fs::temp_directory_path() / ("resetd-st-" + std::to_string(::getpid()) + "-" +
                                     std::to_string(reinterpret_cast<uintptr_t>(this)));
    fs::remove_all(p);
    fs::create_directories(p);
  }
  ~TempDir() { fs::remove_all(p); }
};
UserRecord user(const std::string& name) {
  UserRecord u;
  u.username = name;
  u.role = "user";
  u.locale = "en";
  u.search_text = name;
  u.created_at = u.updated_at = 1'800'000'000;
  return u;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(StoreTests)

BOOST_AUTO_TEST_CASE(open_emptyDir_appliesEveryMigrationWithWal) {
  TempDir d;
  auto s = Store::open(d.p.string());
  BOOST_TEST(s->schema_version() == Store::binary_schema_version());
  BOOST_TEST(Store::binary_schema_version() >= 1);
  SQLite::Database raw((d.p / "resetd.db").string(), SQLite::OPEN_READONLY);
  BOOST_TEST(raw.execAndGet("PRAGMA journal_mode").getString() == "wal");
  for (auto t : {"users", "sessions", "outbox", "link_tokens", "audit", "settings"})
    BOOST_TEST(raw.tableExists(t));
  BOOST_TEST(((fs::status(d.p / "resetd.db").permissions() & fs::perms::others_read) == fs::perms::none));
}

BOOST_AUTO_TEST_CASE(open_databaseNewerThanBinary_refusedNamingBothVersions) {
  TempDir d;
  Store::open(d.p.string()).reset();
  {
    SQLite::Database raw((d.p / "resetd.db").string(), SQLite::OPEN_READWRITE);
    raw.exec("PRAGMA user_version = 999");
  }
  try {
    Store::open(d.p.string());
    BOOST_FAIL("expected TooNew");
  } catch (const StorageError& e) {
    BOOST_TEST(static_cast<int>(e.kind()) == static_cast<int>(StorageError::Kind::TooNew));
    const std::string m = e.what();
    BOOST_TEST(m.find("999") != std::string::npos);
    BOOST_TEST(m.find(std::to_string(Store::binary_schema_version())) != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(open_damagedFile_refusedAndLeftUntouched) {
  TempDir d;
  {
    std::ofstream f(d.p / "resetd.db", std::ios::binary);
    f << "this is not a database, but it is someone's file";
  }
  const auto before = fs::file_size(d.p / "resetd.db");
  BOOST_CHECK_THROW(Store::open(d.p.string()), StorageError);
  BOOST_TEST(fs::file_size(d.p / "resetd.db") == before);
}

BOOST_AUTO_TEST_CASE(write_throwingCallback_rollsBackEverything) {
  TempDir d;
  auto s = Store::open(d.p.string());
  try {
    s->write([&](Writer& w) {
      w.insert_user(user("half"));
      throw std::runtime_error("power cut");
    });
  } catch (const std::runtime_error&) {
  }
  int64_t n = -1;
  s->read([&](Reader& r) { n = r.count_users(); });
  BOOST_TEST(n == 0);
}

BOOST_AUTO_TEST_CASE(read_insideWrite_throwsInsteadOfDeadlocking) {
  TempDir d;
  auto s = Store::open(d.p.string());
  BOOST_CHECK_THROW(s->write([&](Writer&) { s->read([](Reader&) {}); }), std::logic_error);
  // the store is usable afterwards
  s->write([&](Writer& w) { w.insert_user(user("after")); });
  int64_t n = 0;
  s->read([&](Reader& r) { n = r.count_users(); });
  BOOST_TEST(n == 1);
}

BOOST_AUTO_TEST_CASE(insert_duplicateUsername_constraintError) {
  TempDir d;
  auto s = Store::open(d.p.string());
  s->write([&](Writer& w) { w.insert_user(user("dup")); });
  try {
    s->write([&](Writer& w) { w.insert_user(user("dup")); });
    BOOST_FAIL("expected a constraint error");
  } catch (const StorageError& e) {
    BOOST_TEST(static_cast<int>(e.kind()) == static_cast<int>(StorageError::Kind::Constraint));
  }
}

BOOST_AUTO_TEST_CASE(list_users_searchSortPage) {
  TempDir d;
  auto s = Store::open(d.p.string());
  s->write([&](Writer& w) {
    for (auto n : {"carol", "alice", "bob", "alfred"}) w.insert_user(user(n));
  });
  UserQuery q;
  q.q_folded = "al";
  UserPage p;
  s->read([&](Reader& r) { p = r.list_users(q); });
  BOOST_TEST(p.total == 2);
  BOOST_TEST(p.users[0].username == "alfred");
  q = {};
  q.descending = true;
  q.limit = 2;
  q.offset = 1;
  s->read([&](Reader& r) { p = r.list_users(q); });
  BOOST_TEST(p.total == 4);
  BOOST_REQUIRE(p.users.size() == 2u);
  BOOST_TEST(p.users[0].username == "bob");
}

BOOST_AUTO_TEST_CASE(read_changesNothingOnDisk) {
  TempDir d;
  auto s = Store::open(d.p.string());
  s->write([&](Writer& w) { w.insert_user(user("reader")); });
  const auto wal = d.p / "resetd.db-wal";
  const auto before = fs::file_size(wal);
  const auto mtime = fs::last_write_time(wal);
  for (int i = 0; i < 50; ++i)
    s->read([&](Reader& r) {
      r.user_by_username("reader");
      r.list_users({});
    });
  BOOST_TEST(fs::file_size(wal) == before);
  BOOST_TEST((fs::last_write_time(wal) == mtime));
}

BOOST_AUTO_TEST_CASE(outbox_supersedeAndExpire_eraseBodies) {
  TempDir d;
  auto s = Store::open(d.p.string());
  int64_t uid = 0;
  s->write([&](Writer& w) {
    uid = w.insert_user(user("ob"));
    OutboxRecord m;
    m.user_id = uid;
    m.kind = "password";
    m.recipient = "x@example.com";
    m.body = "sealed";
    m.carries_secret = true;
    m.secret_expires_at = 100;
    m.message_id = "a@b";
    w.insert_outbox(m);
    m.message_id = "c@d";
    m.secret_expires_at = 10'000;
    w.insert_outbox(m);
  });
  s->write([&](Writer& w) { BOOST_TEST(w.expire_secret_messages(200) == 1); });
  s->write([&](Writer& w) { BOOST_TEST(w.supersede_secret_messages(uid) == 1); });
  std::vector<OutboxRecord> rows;
  s->read([&](Reader& r) { rows = r.outbox_list({}); });
  BOOST_REQUIRE(rows.size() == 2u);
  BOOST_TEST(rows[0].state == "superseded");
  BOOST_TEST(rows[1].state == "expired");
  BOOST_TEST(rows[0].body.empty());
  BOOST_TEST(rows[1].body.empty());
}

BOOST_AUTO_TEST_CASE(backup_to_writesConsistentReadableSnapshot) {
  TempDir d;
  auto s = Store::open(d.p.string());
  s->write([&](Writer& w) { w.insert_user(user("kept")); });
  const auto snap = d.p / "snap.db";
  s->backup_to(snap.string());
  SQLite::Database raw(snap.string(), SQLite::OPEN_READONLY);
  BOOST_TEST(raw.execAndGet("SELECT username FROM users").getString() == "kept");
}

// Builds a database at schema `v` from the migration files themselves, with a
// user in it, then opens it with the current binary.
BOOST_AUTO_TEST_CASE(open_everyOlderVersion_upgradesKeepingDataAndSnapshot) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(RESETD_MIGRATIONS_DIR))
    if (e.path().extension() == ".sql") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  BOOST_REQUIRE(static_cast<int>(files.size()) == Store::binary_schema_version());
  for (int v = 1; v < Store::binary_schema_version(); ++v) {
    BOOST_TEST_CONTEXT("from v" << v) {
      TempDir d;
      {
        SQLite::Database raw((d.p / "resetd.db").string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        for (int i = 0; i < v; ++i) {
          std::ifstream in(files[static_cast<size_t>(i)]);
          std::stringstream ss;
          ss << in.rdbuf();
          raw.exec(ss.str());
        }
        raw.exec("PRAGMA user_version = " + std::to_string(v));
        raw.exec("INSERT INTO users (username, role, created_at, updated_at) VALUES ('old', 'user', 1, 1)");
      }
      auto s = Store::open(d.p.string());
      BOOST_TEST(s->schema_version() == Store::binary_schema_version());
      std::optional<UserRecord> u;
      s->read([&](Reader& r) { u = r.user_by_username("old"); });
      BOOST_TEST(u.has_value());
      BOOST_TEST(fs::exists(d.p / "backups" / ("pre-v" + std::to_string(Store::binary_schema_version()) + ".db")));
    }
  }
}

BOOST_AUTO_TEST_CASE(codes_latestUnusedAndInvalidate) {
  TempDir d;
  auto s = Store::open(d.p.string());
  int64_t uid = 0;
  s->write([&](Writer& w) {
    uid = w.insert_user(user("coder"));
    CodeRecord c;
    c.user_id = uid;
    c.code_mac = "m1";
    c.expires_at = 100;
    c.created_at = 10;
    w.insert_code(c);
    c.code_mac = "m2";
    c.created_at = 20;
    w.insert_code(c);
  });
  s->read([&](Reader& r) {
    BOOST_TEST(r.latest_code(uid)->code_mac == "m2");
    BOOST_TEST(r.count_codes_since(uid, 15) == 1);
  });
  s->write([&](Writer& w) { BOOST_TEST(w.invalidate_codes(uid, 30) == 2); });
  s->read([&](Reader& r) { BOOST_TEST(!r.latest_code(uid).has_value()); });
}

BOOST_AUTO_TEST_SUITE_END()
