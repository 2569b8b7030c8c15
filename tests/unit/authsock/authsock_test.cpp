#define BOOST_TEST_MODULE authsock
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "resetd/authsock/auth_socket.h"

using namespace resetd::authsock;

BOOST_AUTO_TEST_SUITE(AuthSocketProtocol)

BOOST_AUTO_TEST_CASE(request_roundTrips_passwordMayHoldTabs) {
  AuthRequest r{"sshd", "192.0.2.1", "ann", "pa\tss word\xc3\xa9", 0, 0};
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

BOOST_AUTO_TEST_CASE(encode_request_lineBreaksOrTabsInFields_refused) {
  BOOST_TEST(!encode_request({"s", "", "a\tb", "pw", 0, 0}).ok());
  BOOST_TEST(!encode_request({"s", "", "ann", "p\nw", 0, 0}).ok());
  BOOST_TEST(!encode_request({"s\n", "", "ann", "pw", 0, 0}).ok());
  BOOST_TEST(!encode_request({"s", "", "ann", std::string(5000, 'x'), 0, 0}).ok());
}

BOOST_AUTO_TEST_CASE(decode_request_malformed_refused) {
  BOOST_TEST(!decode_request("").ok());
  BOOST_TEST(!decode_request("resetd-auth 2\ts\t\tann\tpw").ok());
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
  auto ok = ask(path, {"test", "", "ann", "right", 0, 0}, 5000);
  BOOST_REQUIRE(ok.ok());
  BOOST_TEST(ok->ok);
  auto no = ask(path, {"test", "", "ann", "wrong", 0, 0}, 5000);
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
  auto gone = ask(path, {"test", "", "ann", "right", 0, 0}, 1000);
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

BOOST_AUTO_TEST_SUITE_END()
