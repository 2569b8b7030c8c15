// trivial_server PORT BODY_FILE [CERT_PEM KEY_PEM]: the yardstick for resetd's read throughput —
// cpp-httplib (the same library and version resetd links) answering every
// GET /api/v1/users with the bytes of BODY_FILE as application/json, nothing
// else. Runs until SIGTERM/SIGINT. Benchmarks only.
#include <httplib.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

namespace {
httplib::Server* g_server = nullptr;
void stop(int) {
  if (g_server) g_server->stop();
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 5) {
    std::fprintf(stderr, "usage: trivial_server PORT BODY_FILE [CERT_PEM KEY_PEM]\n");
    return 2;
  }
  std::ifstream f(argv[2], std::ios::binary);
  const std::string body((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  // With a certificate and key: httplib's own TLS server, the yardstick for
  // resetd's idle RSS with TLS on.
  std::unique_ptr<httplib::Server> owned;
  if (argc == 5) owned = std::make_unique<httplib::SSLServer>(argv[3], argv[4]);
  else owned = std::make_unique<httplib::Server>();
  httplib::Server& server = *owned;
  g_server = &server;
  // The connection settings resetd's ApiServer uses, so only the handler differs.
  server.set_tcp_nodelay(true);
  server.set_read_timeout(5, 0);
  server.set_write_timeout(5, 0);
  server.set_keep_alive_timeout(5);
  server.set_keep_alive_max_count(100);
  std::signal(SIGTERM, stop);
  std::signal(SIGINT, stop);
  server.Get("/api/v1/users", [&body](const httplib::Request&, httplib::Response& res) {
    res.set_content(body, "application/json");
  });
  return server.listen("127.0.0.1", std::atoi(argv[1])) ? 0 : 1;
}
