#include <sys/stat.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <thread>

#include "resetd/notify/message.h"
#include "resetd/notify/relay.h"
#include "test_support.h"

using namespace resetd::notify;
using namespace notify_test;
namespace fs = std::filesystem;

namespace {
Envelope envelope() {
  Envelope e;
  e.id = 42;
  e.kind = "password";
  e.to = "ayse@example.org";
  e.subject = "您的新密碼";
  e.body = "臨時密碼：abc\n";
  e.message_id = "42.Zx9/q+w@appliance.local";
  e.created_at = 1'800'000'000;
  e.date = 1'800'000'100;
  return e;
}

std::unique_ptr<Relay> file_relay_at(const std::string& dir) {
  RelayConfig c;
  c.mail_dir = dir;
  auto r = make_relay(c);
  BOOST_TEST_REQUIRE(r.ok());
  return std::move(r.value());
}

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    out.push_back(entry.path().filename().string());
  }
  return out;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(file_relay)

BOOST_AUTO_TEST_CASE(deliver_missing_mail_dir_creates_it_0700_and_writes_0600_eml) {
  TempDir dir;
  const std::string mail = dir.path() + "/mail";
  auto relay = file_relay_at(mail);
  DeliveryResult r = relay->deliver(envelope());
  BOOST_TEST((r.outcome == Outcome::Sent));
  std::vector<std::string> names = names_in(mail);
  BOOST_TEST_REQUIRE(names.size() == 1u);  // no temp file left behind
  const std::string name = names[0];
  BOOST_TEST(name.size() > 4u);
  BOOST_TEST(name.substr(name.size() - 4) == ".eml");
  BOOST_TEST(name.find('/') == std::string::npos);
  BOOST_TEST(name.rfind("00000042-42.Zx9_q_w@appliance.local", 0) == 0u, name);
  BOOST_TEST(r.answer == "written " + name);

  struct stat st {};
  BOOST_TEST_REQUIRE(::stat((mail + "/" + name).c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  BOOST_TEST_REQUIRE(::stat(mail.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0700u);

  Envelope e = envelope();
  BOOST_TEST(read_file(mail + "/" + name) ==
             build_message(e, "IT Helpdesk <it-helpdesk@appliance.local>"));
}

BOOST_AUTO_TEST_CASE(deliver_same_message_twice_replaces_one_file) {
  TempDir dir;
  auto relay = file_relay_at(dir.path());
  BOOST_TEST((relay->deliver(envelope()).outcome == Outcome::Sent));
  Envelope again = envelope();
  again.date += 60;  // a retry after a crash
  BOOST_TEST((relay->deliver(again).outcome == Outcome::Sent));
  BOOST_TEST(names_in(dir.path()).size() == 1u);
  Envelope other = envelope();
  other.id = 43;
  other.message_id = "43.x@appliance.local";
  BOOST_TEST((relay->deliver(other).outcome == Outcome::Sent));
  BOOST_TEST(names_in(dir.path()).size() == 2u);
}

BOOST_AUTO_TEST_CASE(deliver_concurrent_reader_never_sees_a_partial_file) {
  TempDir dir;
  auto relay = file_relay_at(dir.path());
  Envelope e = envelope();
  e.body = std::string(1 << 20, 'x');  // big enough that a write in place shows
  const size_t full = build_message(e, "IT Helpdesk <it-helpdesk@appliance.local>").size();
  BOOST_TEST_REQUIRE((relay->deliver(e).outcome == Outcome::Sent));
  const std::string path = dir.path() + "/" + names_in(dir.path()).at(0);

  std::atomic<bool> done{false};
  std::atomic<int> partial{0};
  std::atomic<int> reads{0};
  std::thread reader([&] {
    for (int i = 0; i < 100000 && !done.load(); ++i) {
      std::string got = read_file(path);
      ++reads;
      if (got.size() != full) ++partial;
    }
  });
  for (int i = 0; i < 20; ++i) {
    e.date += 1;  // same size, different bytes
    BOOST_TEST((relay->deliver(e).outcome == Outcome::Sent));
  }
  done = true;
  reader.join();
  BOOST_TEST(reads.load() > 0);
  BOOST_TEST(partial.load() == 0);
  BOOST_TEST(names_in(dir.path()).size() == 1u);
}

BOOST_AUTO_TEST_CASE(deliver_unwritable_dir_is_temporary_and_leaves_nothing) {
  TempDir dir;
  const std::string blocker = dir.path() + "/mail";
  { std::ofstream(blocker) << "not a directory"; }
  auto relay = file_relay_at(blocker);
  DeliveryResult r = relay->deliver(envelope());
  BOOST_TEST((r.outcome == Outcome::Temporary));
  BOOST_TEST(r.answer.find("file relay") == 0u);
  BOOST_TEST(names_in(dir.path()).size() == 1u);
}

BOOST_AUTO_TEST_CASE(deliver_invalid_recipient_is_permanent) {
  TempDir dir;
  auto relay = file_relay_at(dir.path());
  Envelope e = envelope();
  e.to = "not an address";
  BOOST_TEST((relay->deliver(e).outcome == Outcome::Permanent));
  BOOST_TEST(names_in(dir.path()).empty());
}

BOOST_AUTO_TEST_SUITE_END()
