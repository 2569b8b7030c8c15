// list_users with the list filters and with totals kept across writes
// (count_memo.h, migration 0008): every page and total is what a plain scan
// answers, before and after writes of every kind, after more changes than
// user_changes keeps, and for a reader whose snapshot is older than the kept
// total. Densities on both sides of the index walk (most users match) and of
// the partial/trigram index (few do).
#include <boost/test/unit_test.hpp>

#include <SQLiteCpp/SQLiteCpp.h>

#include <filesystem>
#include <functional>
#include <future>
#include <stdexcept>
#include <thread>

#include "resetd/storage/store.h"

using namespace resetd::storage;
namespace fs = std::filesystem;

namespace {
constexpr int64_t kNow = 1'800'000'000;

struct Dir {
  fs::path p;
  Dir() {
    p = fs::temp_directory_path() / ("resetd-ul-" + std::to_string(::getpid()));
    fs::remove_all(p);
    fs::create_directories(p);
  }
  ~Dir() { fs::remove_all(p); }
};

const char* kNames[] = {"ayşe yıldız", "emily smith", "zeynep", "李偉", "noah brown", "olivia", "işıl demir", "chen"};

UserRecord make(int i) {
  UserRecord u;
  u.username = "u" + std::to_string(i < 3000 ? 10000 + (i * 37) % 3000 : 20000 + i);
  u.display_name = std::string(kNames[i % 8]) + " " + std::to_string(i % 5);
  u.email = u.username + "@example.org";
  u.search_text = u.username + "\n" + u.display_name + "\n" + u.email;
  u.role = i % 97 == 0 ? "helpdesk_admin" : "user";
  u.locale = "en";
  u.must_change = i % 10 != 0;  // 90%: the walk
  u.disabled = i % 3 == 0;
  if (i % 2 == 0) u.locked_until = kNow + (i % 4 == 0 ? 100 : -100);  // half in the partial index, a quarter live
  u.created_at = u.updated_at = kNow + (i * 7) % 50;  // ties: the id decides
  return u;
}

// The plain scan: every filter's condition, instr, ORDER BY, LIMIT/OFFSET.
std::vector<std::string> naive(SQLite::Database& raw, const UserQuery& q) {
  std::string where = " WHERE 1";
  if (q.filter == "must_change") where += " AND must_change = 1";
  if (q.filter == "admins") where += " AND role <> 'user'";
  if (q.filter == "locked") where += " AND (locked_until > :now OR directory_locked = 1)";
  if (!q.q_folded.empty()) where += " AND instr(search_text, :q) > 0";
  if (q.disabled) where += " AND disabled = :d";
  const char* dir = q.descending ? " DESC" : " ASC";
  SQLite::Statement c(raw, "SELECT count(*) FROM users" + where);
  SQLite::Statement st(raw, "SELECT username FROM users" + where + " ORDER BY " + q.sort + dir + ", id" + dir +
                                " LIMIT :l OFFSET :o");
  for (auto* x : {&c, &st}) {
    if (!q.q_folded.empty()) x->bind(":q", q.q_folded);
    if (q.disabled) x->bind(":d", *q.disabled ? 1 : 0);
    if (q.filter == "locked") x->bind(":now", kNow);
  }
  st.bind(":l", static_cast<int64_t>(q.limit));
  st.bind(":o", static_cast<int64_t>(q.offset));
  c.executeStep();
  std::vector<std::string> out{std::to_string(c.getColumn(0).getInt64())};
  while (st.executeStep()) out.push_back(st.getColumn(0).getString());
  return out;
}

std::vector<std::string> listed(Reader& r, const UserQuery& q) {
  UserPage p = r.list_users(q);
  std::vector<std::string> got{std::to_string(p.total)};
  for (const auto& u : p.users) got.push_back(u.username);
  return got;
}

// Every combination against the plain scan; returns how many were compared.
int compare_all(Store& s, SQLite::Database& raw, const std::string& round) {
  int checked = 0;
  // "example" matches all, "u10" a third, "yıldız" 1 in 8, " 1\nu" (display names ending in 1) 1 in 5:
  // more than the few looked up, fewer than must_change, "u1299" few, "iz" is too short for trigrams.
  for (std::string filter : {"", "must_change", "admins", "locked"})
    for (std::string qs : {"", "example", "u10", "yıldız", " 1\nu", "u1299", "iz", "nomatch"})
      for (std::string sort : {"username", "display_name"})
        for (bool desc : {false, true})
          for (int dis : {-1, 1})
            for (int64_t off : {0, 40, 1400, 2990}) {
              UserQuery q;
              q.filter = filter;
              q.q_folded = qs;
              q.sort = sort;
              q.descending = desc;
              if (dis >= 0) q.disabled = dis == 1;
              q.offset = off;
              q.limit = 20;
              q.now = kNow;
              q.expiring_before = kNow + 3 * 86400;
              std::vector<std::string> got;
              s.read([&](Reader& r) { got = listed(r, q); });
              BOOST_TEST_CONTEXT(round << ": filter=" << filter << " q=" << qs << " sort=" << sort << " desc="
                                       << desc << " disabled=" << dis << " offset=" << off) {
                BOOST_TEST(got == naive(raw, q), boost::test_tools::per_element());
              }
              ++checked;
            }
  return checked;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(UserListTests)

BOOST_AUTO_TEST_CASE(list_users_filtersAndKeptTotals_sameAnswersAsAPlainScanAcrossWrites) {
  Dir d;
  auto s = Store::open(d.p.string());
  s->write([&](Writer& w) {
    for (int i = 0; i < 3000; ++i) w.insert_user(make(i));
  });
  SQLite::Database raw((d.p / "resetd.db").string(), SQLite::OPEN_READONLY);
  BOOST_TEST(compare_all(*s, raw, "fresh") > 800);
  BOOST_TEST(compare_all(*s, raw, "kept, no write") > 800);  // the kept totals themselves

  // Writes of every kind the kept totals follow.
  s->write([&](Writer& w) {
    for (int i = 0; i < 300; ++i) {
      auto u = w.user_by_username("u" + std::to_string(10000 + i * 7));
      u->must_change = !u->must_change;
      if (i % 3 == 0) u->disabled = !u->disabled;
      if (i % 5 == 0) u->search_text = "renamed yıldız " + u->username;
      if (i % 11 == 0) u->role = u->role == "user" ? "global_admin" : "user";
      if (i % 13 == 0) u->failed_logins = 3;  // a change no total depends on
      w.update_user(*u);
    }
    for (int i = 0; i < 40; ++i) w.delete_user(w.user_by_username("u" + std::to_string(12000 + i))->id);
    for (int i = 3000; i < 3060; ++i) w.insert_user(make(i));
  });
  try {  // a rolled-back write leaves no trace in any total
    s->write([&](Writer& w) {
      auto u = w.user_by_username("u10003");
      u->must_change = !u->must_change;
      u->search_text = "gone";
      w.update_user(*u);
      throw std::runtime_error("rolled back");
    });
  } catch (const std::runtime_error&) {
  }
  BOOST_TEST(compare_all(*s, raw, "after writes") > 800);

  // More changes than user_changes keeps (4096): the kept totals are counted again.
  for (int round = 0; round < 2; ++round)
    s->write([&](Writer& w) {
      for (int i = 0; i < 1100; ++i) {
        auto u = w.user_by_username("u" + std::to_string(10000 + (i * 37) % 3000));
        if (!u) continue;
        u->must_change = !u->must_change;
        w.update_user(*u);
      }
    });
  BOOST_TEST(compare_all(*s, raw, "after pruned changes") > 800);
}

// The kept match lists (match_lists.h) brought up to date by a few changes of
// every kind, one write at a time: each moves users into, out of or along a
// kept list (" 1\nu" and "yıldız" with must_change: lists of 600 and ~170
// matches), and every page is compared after each.
BOOST_AUTO_TEST_CASE(list_users_keptMatchLists_placedAgainAfterFewChanges_sameAnswersAsAPlainScan) {
  Dir d;
  auto s = Store::open(d.p.string());
  s->write([&](Writer& w) {
    for (int i = 0; i < 3000; ++i) w.insert_user(make(i));
  });
  SQLite::Database raw((d.p / "resetd.db").string(), SQLite::OPEN_READONLY);
  BOOST_TEST(compare_all(*s, raw, "kept") > 800);
  auto one = [&](const std::string& username, const std::function<void(UserRecord&)>& change) {
    s->write([&](Writer& w) {
      auto u = w.user_by_username(username);
      BOOST_REQUIRE(u);
      change(*u);
      w.update_user(*u);
    });
  };
  // A display name alone (the sort moves, the search text stays): to the front, then the back.
  one("u10001", [](UserRecord& u) { u.display_name = "\x01 first"; });
  one("u10006", [](UserRecord& u) { u.display_name = "\x7f last"; });
  BOOST_TEST(compare_all(*s, raw, "display names") > 800);
  // Into a search and out of it, blocked, and out of must_change.
  one("u10002", [](UserRecord& u) { u.search_text = "into yıldız 1\nu " + u.username; });
  one("u10011", [](UserRecord& u) { u.search_text = "out " + u.username; });
  one("u10016", [](UserRecord& u) { u.disabled = !u.disabled; });
  one("u10021", [](UserRecord& u) { u.must_change = !u.must_change; });
  BOOST_TEST(compare_all(*s, raw, "in and out") > 800);
  // A renamed user (username and search text), a deleted and an inserted one.
  one("u10026", [](UserRecord& u) {
    u.username = "a-renamed";
    u.search_text = "a-renamed\n" + u.display_name + "\na-renamed@example.org";
  });
  s->write([&](Writer& w) {
    w.delete_user(w.user_by_username("u10031")->id);
    w.insert_user(make(5001));
  });
  BOOST_TEST(compare_all(*s, raw, "renamed, deleted, inserted") > 800);
}

// A reader whose snapshot is older than a kept total answers its own snapshot's total.
BOOST_AUTO_TEST_CASE(list_users_olderSnapshotThanTheKeptTotal_totalOfItsOwnSnapshot) {
  Dir d;
  auto s = Store::open(d.p.string());
  s->write([&](Writer& w) {
    for (int i = 0; i < 500; ++i) w.insert_user(make(i));
  });
  UserQuery q;
  q.filter = "must_change";
  q.q_folded = "example";
  int64_t before = 0;
  s->read([&](Reader& r) { before = r.list_users(q).total; });  // kept
  std::promise<void> reading, written;
  auto old_reader = std::async(std::launch::async, [&] {
    int64_t total = 0;
    s->read([&](Reader& r) {
      r.user_by_id(1);  // the snapshot begins
      reading.set_value();
      written.get_future().wait();
      total = r.list_users(q).total;
    });
    return total;
  });
  reading.get_future().wait();
  s->write([&](Writer& w) {
    for (int i = 1; i <= 20; ++i) {
      auto u = w.user_by_username("u" + std::to_string(10000 + (i * 37) % 3000));
      u->must_change = false;
      w.update_user(*u);
    }
  });
  int64_t after = 0;
  s->read([&](Reader& r) { after = r.list_users(q).total; });  // kept at the newer snapshot
  written.set_value();
  BOOST_TEST(old_reader.get() == before);
  BOOST_TEST(after < before);
}

BOOST_AUTO_TEST_SUITE_END()
