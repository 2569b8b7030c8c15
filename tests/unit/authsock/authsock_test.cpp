#define BOOST_TEST_MODULE authsock
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/un.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "resetd/authsock/auth_socket.h"
#include "resetd/authsock/os_accounts.h"

using namespace resetd::authsock;

BOOST_AUTO_TEST_SUITE(AuthSocketProtocol)

BOOST_AUTO_TEST_CASE(request_roundTrips_passwordMayHoldTabs) {
  AuthRequest r{"sshd", "192.0.2.1", "ann", "pa\tss word\xc3\xa9", 0, 0, "", "", ""};
  auto line = encode_request(r);
  BOOST_REQUIRE(line.ok());
  BOOST_TEST(line->back() == '\n');
  auto back = decode_request(line->substr(0, line->size() - 1));
  BOOST_REQUIRE(back.ok());
  BOOST_TEST(back->service == "sshd");
  BOOST_TEST(back->rhost == "192.0.2.1");
  BOOST_TEST(back->username == "ann");
  BOOST_TEST(back->password == r.password);
}

BOOST_AUTO_TEST_CASE(request_carriesTtyRuserAndUid_andVersion1StillDecodes) {
  AuthRequest r{"sudo", "", "ann", "pw\tx", 0, 0, "/dev/pts/3", "bob", "1000"};
  auto line = encode_request(r);
  BOOST_REQUIRE(line.ok());
  BOOST_TEST(line->rfind("resetd-auth 2\t", 0) == 0u);
  auto back = decode_request(line->substr(0, line->size() - 1));
  BOOST_REQUIRE(back.ok());
  BOOST_TEST(back->tty == "/dev/pts/3");
  BOOST_TEST(back->ruser == "bob");
  BOOST_TEST(back->uid == "1000");
  BOOST_TEST(back->username == "ann");
  BOOST_TEST(back->password == "pw\tx");
  auto v1 = decode_request("resetd-auth 1\tsshd\t192.0.2.1\tann\tpw");
  BOOST_REQUIRE(v1.ok());
  BOOST_TEST(v1->rhost == "192.0.2.1");
  BOOST_TEST(v1->username == "ann");
  BOOST_TEST(v1->tty.empty());
  BOOST_TEST(!encode_request({"s", "", "ann", "pw", 0, 0, "tty\t1", "", ""}).ok());
}

BOOST_AUTO_TEST_CASE(encode_request_lineBreaksOrTabsInFields_refused) {
  BOOST_TEST(!encode_request({"s", "", "a\tb", "pw", 0, 0, "", "", ""}).ok());
  BOOST_TEST(!encode_request({"s", "", "ann", "p\nw", 0, 0, "", "", ""}).ok());
  BOOST_TEST(!encode_request({"s\n", "", "ann", "pw", 0, 0, "", "", ""}).ok());
  BOOST_TEST(!encode_request({"s", "", "ann", std::string(5000, 'x'), 0, 0, "", "", ""}).ok());
}

BOOST_AUTO_TEST_CASE(decode_request_malformed_refused) {
  BOOST_TEST(!decode_request("").ok());
  BOOST_TEST(!decode_request("resetd-auth 3\ts\t\tann\tpw").ok());
  BOOST_TEST(!decode_request("resetd-auth 2\ts\t\tann\tpw").ok());  // version 2 has 7 fields
  BOOST_TEST(!decode_request("resetd-auth 2\ts\t\tpts/1\tbob\t10x0\tann\tpw").ok());  // uid not a number
  BOOST_TEST(!decode_request("resetd-auth 1\ts\t\t\tpw").ok());  // empty username
  BOOST_TEST(!decode_request("resetd-auth 1\ts\tann").ok());
  BOOST_TEST(!decode_request(std::string("resetd-auth 1\ts\t\tann\tp\0w", 24)).ok());
}

BOOST_AUTO_TEST_CASE(reply_roundTrips_andUnknownIsAFailure) {
  BOOST_TEST(decode_reply("ok").ok);
  AuthReply f{false, "invalid_credentials", "The username\tor password\nis incorrect."};
  std::string line = encode_reply(f);
  BOOST_TEST(line.find('\n') == line.size() - 1);
  auto back = decode_reply(line.substr(0, line.size() - 1));
  BOOST_TEST(!back.ok);
  BOOST_TEST(back.code == "invalid_credentials");
  BOOST_TEST(back.message == "The username or password is incorrect.");
  BOOST_TEST(!decode_reply("OK").ok);
  BOOST_TEST(!decode_reply("ok extra").ok);
}

BOOST_AUTO_TEST_CASE(server_answersClient_andRemovesSocketOnStop) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("authsock-test-" + std::to_string(::getpid()));
  const std::string path = (dir / "a.sock").string();
  std::atomic<int> calls{0};
  AuthSocketOptions o;
  o.path = path;
  AuthSocketServer srv(o, [&](const AuthRequest& r) {
    ++calls;
    BOOST_CHECK(r.peer_uid == ::getuid());
    return r.password == "right" ? AuthReply{true, "", ""} : AuthReply{false, "invalid_credentials", "no"};
  });
  std::string err;
  BOOST_REQUIRE_MESSAGE(srv.start(&err), err);
  struct stat st{};
  BOOST_REQUIRE(::stat(path.c_str(), &st) == 0);
  BOOST_TEST(S_ISSOCK(st.st_mode));
  BOOST_TEST((st.st_mode & 07777) == 0660u);
  auto ok = ask(path, {"test", "", "ann", "right", 0, 0, "", "", ""}, 5000);
  BOOST_REQUIRE(ok.ok());
  BOOST_TEST(ok->ok);
  auto no = ask(path, {"test", "", "ann", "wrong", 0, 0, "", "", ""}, 5000);
  BOOST_REQUIRE(no.ok());
  BOOST_TEST(!no->ok);
  BOOST_TEST(no->code == "invalid_credentials");
  // a second server on the same live path is refused
  AuthSocketServer other(o, [](const AuthRequest&) { return AuthReply{true, "", ""}; });
  std::string err2;
  BOOST_TEST(!other.start(&err2));
  BOOST_TEST(err2.find("in use") != std::string::npos);
  srv.stop();
  BOOST_TEST(!fs::exists(path));
  BOOST_TEST(calls.load() == 2);
  auto gone = ask(path, {"test", "", "ann", "right", 0, 0, "", "", ""}, 1000);
  BOOST_REQUIRE(!gone.ok());
  BOOST_TEST(gone.error().code == "service_unavailable");
  fs::remove_all(dir);
}

// chown/chmod after bind follow a path: in a directory another user may write to,
// that user could swap the fresh socket for a symlink and get a file of their choice
// made group-readable. Such directories are refused; so are links and non-sockets.
BOOST_AUTO_TEST_CASE(server_start_unsafeDirectoryOrPath_refused) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("authsock-dir-test-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  AuthSocketOptions o;
  o.path = (dir / "a.sock").string();
  auto refused = [&](const char* what) {
    AuthSocketServer srv(o, [](const AuthRequest&) { return AuthReply{true, "", ""}; });
    std::string err;
    const bool started = srv.start(&err);
    BOOST_TEST_CONTEXT(what) { BOOST_TEST(!started); }
    return err;
  };
  BOOST_REQUIRE(::chmod(dir.c_str(), 0777) == 0);
  BOOST_TEST(refused("world-writable dir").find("writable") != std::string::npos);
  BOOST_REQUIRE(::chmod(dir.c_str(), 0775) == 0);
  BOOST_TEST(refused("group-writable dir").find("writable") != std::string::npos);
  BOOST_REQUIRE(::chmod(dir.c_str(), 0755) == 0);
  if (::geteuid() == 0) {
    BOOST_REQUIRE(::chown(dir.c_str(), 65534, static_cast<gid_t>(-1)) == 0);
    BOOST_TEST(refused("dir of another user").find("owned") != std::string::npos);
    BOOST_REQUIRE(::chown(dir.c_str(), 0, static_cast<gid_t>(-1)) == 0);
  }
  fs::create_symlink("/etc/passwd", o.path);
  BOOST_TEST(refused("symlink").find("not a socket") != std::string::npos);
  fs::remove(o.path);
  { std::ofstream(o.path) << "x"; }
  BOOST_TEST(refused("regular file").find("not a socket") != std::string::npos);
  fs::remove(o.path);
  // a sticky world-writable directory (like /tmp) is fine: nobody can rename our socket
  BOOST_REQUIRE(::chmod(dir.c_str(), 01777) == 0);
  {
    AuthSocketServer srv(o, [](const AuthRequest&) { return AuthReply{true, "", ""}; });
    std::string err;
    BOOST_TEST(srv.start(&err), err);
  }
  fs::remove_all(dir);
}

// A frozen service (SIGSTOP) still completes connects into its backlog and
// takes the request into the socket buffer; once the backlog is full,
// connect itself would block. Both end at the client's deadline.
BOOST_AUTO_TEST_CASE(ask_frozenService_answersTimeoutWithinTheDeadline) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("authsock-frozen-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "a.sock").string();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int lfd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  BOOST_REQUIRE(::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  BOOST_REQUIRE(::listen(lfd, 1) == 0);  // never accepted
  auto timed = [&](int timeout_ms) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = ask(path, {"test", "", "ann", "pw", 0, 0, "", "", ""}, timeout_ms);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST(r.error().code == "timeout");
    BOOST_TEST(ms >= timeout_ms - 50);
    BOOST_TEST(ms < timeout_ms + 1500);
  };
  timed(700);  // connected into the backlog, no answer
  std::vector<int> fill;
  for (int i = 0; i < 64; ++i) {
    const int c = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    fill.push_back(c);
    if (::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) break;  // backlog full
  }
  timed(700);  // connect itself cannot complete
  for (int c : fill) ::close(c);
  ::close(lfd);
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(OsAccounts)

BOOST_AUTO_TEST_CASE(read_uid_min_fileKeyOrValueMissing_defaultsTo1000) {
  namespace fs = std::filesystem;
  const fs::path f = fs::temp_directory_path() / ("login-defs-" + std::to_string(::getpid()));
  auto with = [&](const std::string& text) {
    std::ofstream(f) << text;
    return read_uid_min(f.string());
  };
  BOOST_TEST(read_uid_min((f / "missing").string()) == 1000u);
  BOOST_TEST(with("UID_MAX 60000\n#UID_MIN 5\n") == 1000u);
  BOOST_TEST(with("# comment\nUID_MIN\t\t 500\nUID_MAX 60000\n") == 500u);
  BOOST_TEST(with("UID_MIN 0x3e8\n") == 1000u);
  BOOST_TEST(with("UID_MIN 2000\n") == 2000u);
  BOOST_TEST(with("UID_MIN 0\n") == 1000u);      // 0 would make root an ordinary account
  BOOST_TEST(with("UID_MIN lots\n") == 1000u);
  BOOST_TEST(with("UID_MIN -5\n") == 1000u);
  fs::remove(f);
}

BOOST_AUTO_TEST_CASE(os_reserved_rootSystemAndNobody_reservedUnlessListed) {
  // Debian's base-passwd: root 0, daemon 1, nobody 65534 exist everywhere.
  OsAccountRules rules;
  BOOST_TEST(os_reserved("root", rules).has_value());
  BOOST_TEST(os_reserved("daemon", rules).has_value());
  BOOST_TEST(os_reserved("nobody", rules).has_value());
  BOOST_TEST(!os_reserved("no-such-os-account-x7", rules).has_value());  // resetd-only names stay usable
  BOOST_TEST(!os_reserved("ROOT", rules).has_value());  // the OS's names are case-sensitive
  rules.allowed = {"daemon", "root", "nobody"};
  BOOST_TEST(!os_reserved("daemon", rules).has_value());  // the operator listed it
  BOOST_TEST(os_reserved("root", rules).has_value());     // uid 0: never
  BOOST_TEST(os_reserved("nobody", rules).has_value());
  rules = OsAccountRules{1, {}};  // UID_MIN 1: daemon counts as a person's account
  BOOST_TEST(!os_reserved("daemon", rules).has_value());
  BOOST_TEST(os_reserved("root", rules).has_value());
  rules = OsAccountRules{1, {}, 1};  // UID_MAX 1: bin (uid 2) is above it, a system range again
  BOOST_TEST(!os_reserved("daemon", rules).has_value());
  BOOST_TEST(os_reserved("bin", rules).value_or("").find("UID_MAX") != std::string::npos);
  rules.allowed = {"bin"};
  BOOST_TEST(!os_reserved("bin", rules).has_value());
}

BOOST_AUTO_TEST_CASE(read_uid_max_defaultsTo60000) {
  namespace fs = std::filesystem;
  const fs::path f = fs::temp_directory_path() / ("login-defs-max-" + std::to_string(::getpid()));
  BOOST_TEST(read_uid_max((f / "missing").string()) == 60000u);
  std::ofstream(f) << "UID_MIN 1000\nUID_MAX 59999\n";
  BOOST_TEST(read_uid_max(f.string()) == 59999u);
  BOOST_TEST(read_uid_min(f.string()) == 1000u);
  fs::remove(f);
}

BOOST_AUTO_TEST_SUITE_END()
