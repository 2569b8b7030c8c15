#define BOOST_TEST_MODULE storage
#include <boost/test/unit_test.hpp>

#include <SQLiteCpp/SQLiteCpp.h>
#include <filesystem>
#include <algorithm>
#include <fstream>
#include <future>
#include <iterator>
#include <sstream>
#include <thread>

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

// list_users answers what a plain scan (instr, ORDER BY, LIMIT/OFFSET) answers,
// for every sort, direction, filter, queries served by the trigram index with
// few and with many matches, a query too short for it, and pages at the
// front, middle and back.
BOOST_AUTO_TEST_CASE(list_users_sameAnswersAsAPlainScan) {
  TempDir d;
  auto s = Store::open(d.p.string());
  const char* names[] = {"ayşe yıldız", "istanbul", "i̇zmir", "yildiz", "bob", "zeynep", "émile \"q\"", "李"};
  s->write([&](Writer& w) {
    for (int i = 0; i < 1200; ++i) {
      UserRecord u = user("u" + std::to_string(10000 + (i * 37) % 1200));
      u.display_name = std::string(names[i % 8]) + " " + std::to_string(i % 5);
      u.search_text = u.username + "\n" + u.display_name;
      u.disabled = i % 3 == 0;
      u.created_at = 1'800'000'000 + (i * 7) % 50;  // ties: the id decides
      w.insert_user(u);
    }
    // a change of search text and of disabled keeps index and counts right
    auto u = w.user_by_username("u10000");
    u->search_text = "renamed yildiz";
    u->disabled = !u->disabled;
    w.update_user(*u);
    w.delete_user(w.user_by_username("u10001")->id);
  });
  SQLite::Database raw((d.p / "resetd.db").string(), SQLite::OPEN_READONLY);
  auto naive = [&](const UserQuery& q) {
    std::string where = " WHERE 1";
    if (!q.q_folded.empty()) where += " AND instr(search_text, :q) > 0";
    if (q.disabled) where += " AND disabled = :d";
    const char* dir = q.descending ? " DESC" : " ASC";
    std::vector<std::string> out;
    SQLite::Statement c(raw, "SELECT count(*) FROM users" + where);
    SQLite::Statement st(raw, "SELECT username FROM users" + where + " ORDER BY " + q.sort + dir +
                                  ", id" + dir + " LIMIT :l OFFSET :o");
    for (auto* x : {&c, &st}) {
      if (!q.q_folded.empty()) x->bind(":q", q.q_folded);
      if (q.disabled) x->bind(":d", *q.disabled ? 1 : 0);
    }
    st.bind(":l", static_cast<int64_t>(q.limit));
    st.bind(":o", static_cast<int64_t>(q.offset));
    c.executeStep();
    out.push_back(std::to_string(c.getColumn(0).getInt64()));
    while (st.executeStep()) out.push_back(st.getColumn(0).getString());
    return out;
  };
  int checked = 0;
  // "u10" matches 1,000 users (the index walk), "u11" 200 (the look-up).
  for (std::string qs : {"", "u10", "u11", "yıldız", "yildiz", "i̇z", "iz", "\"q\"", "1 ", "李", "nomatch"})
    for (std::string sort : {"username", "display_name", "created_at"})
      for (bool desc : {false, true})
        for (int dis : {-1, 0, 1})
          for (int64_t off : {0, 7, 150, 480, 990, 1150, 1197, 5000}) {
            UserQuery q;
            q.q_folded = qs;
            q.sort = sort;
            q.descending = desc;
            if (dis >= 0) q.disabled = dis == 1;
            q.offset = off;
            q.limit = 25;
            UserPage p;
            s->read([&](Reader& r) { p = r.list_users(q); });
            std::vector<std::string> got{std::to_string(p.total)};
            for (const auto& u : p.users) got.push_back(u.username);
            BOOST_TEST_CONTEXT("q=" << qs << " sort=" << sort << " desc=" << desc << " disabled=" << dis
                                    << " offset=" << off) {
              BOOST_TEST(got == naive(q), boost::test_tools::per_element());
            }
            ++checked;
          }
  BOOST_TEST(checked > 1000);
}

// Directory users (migration 0004) go through the same list path: a sync's
// inserts, moves, disables and removals keep the kept counts and the trigram
// index right, and list pages carry the directory id and DN.
BOOST_AUTO_TEST_CASE(list_users_directorySyncKeepsCountsAndSearch) {
  TempDir d;
  auto s = Store::open(d.p.string());
  s->write([&](Writer& w) {
    w.insert_user(user("admin"));  // the local break-glass account
    for (int i = 0; i < 300; ++i) {
      UserRecord u = user("dir" + std::to_string(1000 + i));
      u.display_name = i % 2 ? "Ayşe Yıldız" : "Bora Kılıç";
      u.search_text = u.username + "\n" + (i % 2 ? "ayşe yıldız" : "bora kılıç");
      u.directory_id = "uuid-" + std::to_string(i);
      u.directory_dn = "uid=" + u.username + ",ou=people,dc=example,dc=test";
      u.disabled = i % 10 == 0;
      w.insert_user(u);
    }
  });
  // the next sync: 50 entries gone, 20 moved, 30 newly disabled
  s->write([&](Writer& w) {
    for (auto& u : w.directory_users()) {
      const int i = std::stoi(u.directory_id.substr(5));
      if (i >= 250) {
        w.delete_user(u.id);
      } else if (i < 20) {
        u.directory_dn = "uid=" + u.username + ",ou=moved,dc=example,dc=test";
        w.update_user(u);
      } else if (i % 10 == 5 && i < 100) {
        u.disabled = true;
        w.update_user(u);
      }
    }
  });
  SQLite::Database raw((d.p / "resetd.db").string(), SQLite::OPEN_READONLY);
  auto scan = [&](const std::string& where) {
    return raw.execAndGet("SELECT count(*) FROM users" + where).getInt64();
  };
  BOOST_TEST(raw.execAndGet("SELECT coalesce(sum(n), 0) FROM user_counts").getInt64() == scan(""));
  for (int dis : {-1, 0, 1})
    for (std::string qs : {"", "yıldız", "dir10", "dir124"}) {
      UserQuery q;
      q.q_folded = qs;
      if (dis >= 0) q.disabled = dis == 1;
      q.limit = 500;
      UserPage p;
      s->read([&](Reader& r) { p = r.list_users(q); });
      std::string where = " WHERE 1";
      if (!qs.empty()) where += " AND instr(search_text, '" + qs + "') > 0";
      if (dis >= 0) where += " AND disabled = " + std::to_string(dis);
      BOOST_TEST_CONTEXT("q=" << qs << " disabled=" << dis) {
        BOOST_TEST(p.total == scan(where));
        BOOST_TEST(static_cast<int64_t>(p.users.size()) == p.total);
      }
    }
  UserQuery q;
  q.q_folded = "dir1019";
  UserPage p;
  s->read([&](Reader& r) { p = r.list_users(q); });
  BOOST_REQUIRE(p.users.size() == 1u);
  BOOST_TEST(p.users[0].directory_id == "uuid-19");
  BOOST_TEST(p.users[0].directory_dn == "uid=dir1019,ou=moved,dc=example,dc=test");
  std::optional<UserRecord> byid;
  size_t dir_users = 0;
  s->write([&](Writer& w) {
    byid = w.user_by_directory_id("uuid-19");
    dir_users = w.directory_users().size();
    BOOST_TEST(!w.user_by_directory_id("uuid-299"));
    BOOST_TEST(!w.user_by_directory_id(""));  // a local account has no directory id
  });
  BOOST_REQUIRE(byid.has_value());
  BOOST_TEST(byid->username == "dir1019");
  BOOST_TEST(dir_users == 250u);
}

// Upgrading a v2 database with users: search finds them through the new
// index and `total` comes from the new kept counts.
BOOST_AUTO_TEST_CASE(open_v2WithUsers_upgradeIndexesAndCountsThem) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(RESETD_MIGRATIONS_DIR))
    if (e.path().extension() == ".sql") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  TempDir d;
  {
    SQLite::Database raw((d.p / "resetd.db").string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    for (int i = 0; i < 2; ++i) {
      std::ifstream in(files[static_cast<size_t>(i)]);
      std::stringstream ss;
      ss << in.rdbuf();
      raw.exec(ss.str());
    }
    raw.exec("PRAGMA user_version = 2");
    raw.exec("INSERT INTO users (username, role, search_text, disabled, created_at, updated_at) VALUES "
             "('ayse', 'user', 'ayse\nayşe yıldız', 0, 1, 1), ('bora', 'user', 'bora\nbora kılıç', 1, 1, 1), "
             "('cem', 'user', 'cem\ncem yıldızhan', 0, 1, 1)");
  }
  auto s = Store::open(d.p.string());
  BOOST_TEST(s->schema_version() == Store::binary_schema_version());
  UserQuery q;
  q.q_folded = "yıldız";
  UserPage p;
  s->read([&](Reader& r) { p = r.list_users(q); });
  BOOST_TEST(p.total == 2);
  BOOST_REQUIRE(p.users.size() == 2u);
  BOOST_TEST(p.users[1].username == "cem");
  q = {};
  q.disabled = false;
  s->read([&](Reader& r) { p = r.list_users(q); });
  BOOST_TEST(p.total == 2);
  int64_t all = 0;
  s->read([&](Reader& r) { all = r.count_users(); });
  BOOST_TEST(all == 3);
}

// A clean close leaves the mark; a start that trusts it skips quick_check.
// The file damaged afterwards (its mtime/size change) is still refused and
// left untouched, and so is one damaged after an unclean stop.
BOOST_AUTO_TEST_CASE(open_trustCleanStop_damagedFileStillRefusedAndUntouched) {
  OpenOptions o;
  o.trust_clean_stop = true;
  for (bool clean : {true, false}) {
    BOOST_TEST_CONTEXT("clean stop " << clean) {
      TempDir d;
      {
        auto s = Store::open(d.p.string(), o);
        s->write([&](Writer& w) {
          for (int i = 0; i < 300; ++i) {
            UserRecord u = user("user" + std::to_string(i));
            u.display_name = std::string(200, 'x');
            w.insert_user(u);
          }
        });
      }
      BOOST_TEST(fs::exists(d.p / "resetd.clean"));
      if (!clean) fs::remove(d.p / "resetd.clean");
      // Overwrite a page in the middle of the file (not the header).
      const auto size = fs::file_size(d.p / "resetd.db");
      BOOST_REQUIRE(size > 8 * 4096);
      {
        std::fstream f(d.p / "resetd.db", std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(4 * 4096);
        const std::string junk(4096, '\x5a');
        f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
      }
      std::ifstream in(d.p / "resetd.db", std::ios::binary);
      const std::string before((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      try {
        Store::open(d.p.string(), o);
        BOOST_FAIL("expected Corrupt");
      } catch (const StorageError& e) {
        BOOST_TEST(static_cast<int>(e.kind()) == static_cast<int>(StorageError::Kind::Corrupt));
      }
      std::ifstream in2(d.p / "resetd.db", std::ios::binary);
      const std::string after((std::istreambuf_iterator<char>(in2)), std::istreambuf_iterator<char>());
      BOOST_TEST((before == after));
      BOOST_TEST(!fs::exists(d.p / "resetd.db-wal"));
      BOOST_TEST(!fs::exists(d.p / "resetd.clean"));  // used up either way
    }
  }
}

BOOST_AUTO_TEST_CASE(open_trustCleanStop_unchangedFileSkipsTheCheckOnce) {
  OpenOptions o;
  o.trust_clean_stop = true;
  TempDir d;
  Store::open(d.p.string(), o).reset();
  BOOST_REQUIRE(fs::exists(d.p / "resetd.clean"));
  {
    auto s = Store::open(d.p.string(), o);
    BOOST_TEST(!fs::exists(d.p / "resetd.clean"));  // gone while running: a crash finds none
    s->write([&](Writer& w) { w.insert_user(user("x")); });
  }
  BOOST_TEST(fs::exists(d.p / "resetd.clean"));
  // Stores opened without the option (CLI commands) neither use nor leave it.
  fs::remove(d.p / "resetd.clean");
  Store::open(d.p.string()).reset();
  BOOST_TEST(!fs::exists(d.p / "resetd.clean"));
}

BOOST_AUTO_TEST_CASE(read_whileWriteHeld_doesNotWaitForTheWriter) {
  TempDir d;
  auto s = Store::open(d.p.string());
  s->write([&](Writer& w) { w.insert_user(user("first")); });
  std::promise<void> inside, release;
  std::thread writer([&] {
    s->write([&](Writer& w) {
      w.insert_user(user("second"));
      inside.set_value();
      release.get_future().wait();
    });
  });
  inside.get_future().wait();
  int64_t n = -1;
  s->read([&](Reader& r) { n = r.count_users(); });  // would deadlock on one connection
  release.set_value();
  writer.join();
  BOOST_TEST(n == 1);  // the last commit, not the open transaction
  s->read([&](Reader& r) { n = r.count_users(); });
  BOOST_TEST(n == 2);
}

BOOST_AUTO_TEST_CASE(write_unsynced_commitsLikeWriteAndRollsBackOnThrow) {
  TempDir d;
  auto s = Store::open(d.p.string());
  s->write_unsynced([&](Writer& w) { w.insert_user(user("claimed")); });
  BOOST_CHECK_THROW(s->write_unsynced([&](Writer& w) {
    w.insert_user(user("never"));
    throw std::runtime_error("relay gone");
  }), std::runtime_error);
  s->write([&](Writer& w) { w.insert_user(user("after")); });  // back to FULL first
  int64_t n = 0;
  bool never = true;
  s->read([&](Reader& r) {
    n = r.count_users();
    never = r.user_by_username("never").has_value();
  });
  BOOST_TEST(n == 2);
  BOOST_TEST(!never);
  BOOST_CHECK_THROW(s->write([&](Writer&) { s->write_unsynced([](Writer&) {}); }), std::logic_error);
  SQLite::Database raw((d.p / "resetd.db").string(), SQLite::OPEN_READONLY);
  BOOST_TEST(raw.execAndGet("PRAGMA integrity_check").getString() == "ok");
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
