// SyslogSink against a real Unix datagram socket: it delivers, and it never
// waits when nobody listens or the listener stops reading.
#include <boost/test/unit_test.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>

#include "resetd/auditlog/syslog.h"

using namespace resetd::auditlog;
namespace fs = std::filesystem;

namespace {
struct Listener {
  fs::path dir, path;
  int fd = -1;
  Listener() {
    dir = fs::temp_directory_path() / ("resetd-sl-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    path = dir / "log.sock";
    fs::remove(path);
    fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strcpy(a.sun_path, path.c_str());
    BOOST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  ~Listener() {
    ::close(fd);
    fs::remove_all(dir);
  }
  std::string receive() {
    char buf[4096];
    timeval tv{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  }
};
resetd::storage::AuditRecord row() {
  resetd::storage::AuditRecord a;
  a.at = 1'796'000'000;
  a.actor = "admin";
  a.action = "user_unlock";
  a.target = "bob";
  a.client = "192.0.2.7";
  a.outcome = "ok";
  return a;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(SyslogSinkTests)

BOOST_AUTO_TEST_CASE(send_listening_oneDatagramPerRow) {
  Listener l;
  SyslogSink sink(l.path.string(), SyslogIdentity{});
  sink.send(row());
  const std::string got = l.receive();
  BOOST_TEST(got == format_rfc5424(row(), SyslogIdentity{}));
  BOOST_TEST(sink.sent() == 1u);
  BOOST_TEST(sink.dropped() == 0u);
}

BOOST_AUTO_TEST_CASE(send_noSocket_droppedAndCountedThenResumes) {
  Listener l;
  const fs::path missing = l.dir / "missing.sock";
  SyslogSink sink(missing.string(), SyslogIdentity{});
  sink.send(row());
  sink.send(row());
  BOOST_TEST(sink.dropped() == 2u);
  fs::rename(l.path, missing);  // syslog (re)starts: the same path works without a reconnect
  sink.send(row());
  BOOST_TEST(sink.sent() == 1u);
  BOOST_TEST(!l.receive().empty());
}

BOOST_AUTO_TEST_CASE(send_listenerStopsReading_neverBlocksDropsCounted) {
  Listener l;  // never read from: its queue fills
  SyslogSink sink(l.path.string(), SyslogIdentity{});
  const auto t0 = std::chrono::steady_clock::now();
  // more than the kernel queues for one datagram socket (net.unix.max_dgram_qlen: 10, 512 with
  // systemd's sysctl defaults): a send that waited for room would hang here
  for (int i = 0; i < 2000; ++i) sink.send(row());
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  BOOST_TEST(ms < 20000);  // a loaded 2-core CI machine, not a speed test
  BOOST_TEST(sink.dropped() > 0u);
  BOOST_TEST(sink.sent() + sink.dropped() == 2000u);
}

BOOST_AUTO_TEST_SUITE_END()
