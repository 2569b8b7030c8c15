// Store::set_audit_listener: each audit row is told once its transaction
// committed, and a rolled-back one never (the site's syslog must not show
// what the database does not hold).
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <stdexcept>
#include <vector>

#include "resetd/storage/store.h"

using namespace resetd::storage;
namespace fs = std::filesystem;

namespace {
struct ListenerDir {
  fs::path p;
  ListenerDir() {
    p = fs::temp_directory_path() / ("resetd-al-" + std::to_string(::getpid()) + "-" +
                                     std::to_string(reinterpret_cast<uintptr_t>(this)));
    fs::remove_all(p);
    fs::create_directories(p);
  }
  ~ListenerDir() { fs::remove_all(p); }
};
AuditRecord row(const std::string& action) {
  AuditRecord a;
  a.at = 1'800'000'000;
  a.actor = "admin";
  a.client = "10.0.0.5";
  a.action = action;
  a.target = "alice";
  a.outcome = "ok";
  return a;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(AuditListenerTests)

BOOST_AUTO_TEST_CASE(write_committed_listenerToldEveryRowInOrderAfterCommit) {
  ListenerDir d;
  auto s = Store::open(d.p.string());
  std::vector<std::string> told;
  bool told_before_commit = false;
  s->set_audit_listener([&](const AuditRecord& a) { told.push_back(a.action); });
  s->write([&](Writer& w) {
    w.append_audit(row("password_reset"));
    w.append_audit(row("user_unlock"));
    told_before_commit = !told.empty();
  });
  BOOST_TEST(!told_before_commit);
  BOOST_TEST(told == (std::vector<std::string>{"password_reset", "user_unlock"}));
  s->read([&](Reader& r) { BOOST_TEST(r.audit_count({}) == 2); });
}

BOOST_AUTO_TEST_CASE(write_rolledBack_listenerNeverTold) {
  ListenerDir d;
  auto s = Store::open(d.p.string());
  int told = 0;
  s->set_audit_listener([&](const AuditRecord&) { ++told; });
  BOOST_CHECK_THROW(s->write([](Writer& w) {
                      w.append_audit(row("password_reset"));
                      throw std::runtime_error("directory refused");
                    }),
                    std::runtime_error);
  BOOST_TEST(told == 0);
  s->read([&](Reader& r) { BOOST_TEST(r.audit_count({}) == 0); });
  s->write([](Writer& w) { w.append_audit(row("sign_in")); });
  BOOST_TEST(told == 1);
}

BOOST_AUTO_TEST_CASE(write_listenerThrows_writeStillReportedCommitted) {
  ListenerDir d;
  auto s = Store::open(d.p.string());
  s->set_audit_listener([](const AuditRecord&) { throw std::runtime_error("syslog broke"); });
  BOOST_CHECK_NO_THROW(s->write([](Writer& w) { w.append_audit(row("password_reset")); }));
  s->read([&](Reader& r) { BOOST_TEST(r.audit_count({}) == 1); });
}

BOOST_AUTO_TEST_CASE(write_noListener_auditStillStored) {
  ListenerDir d;
  auto s = Store::open(d.p.string());
  s->write([](Writer& w) { w.append_audit(row("sign_in")); });
  s->read([&](Reader& r) { BOOST_TEST(r.audit_count({}) == 1); });
}

BOOST_AUTO_TEST_SUITE_END()
