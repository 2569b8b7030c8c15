#define BOOST_TEST_MODULE authsock
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>

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

BOOST_AUTO_TEST_SUITE_END()
