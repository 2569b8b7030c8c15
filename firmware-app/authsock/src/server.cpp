// AuthSocketServer: bind with a tight umask (no window in which the socket is
// world-connectable), then group + 0660; one thread per connection, capped.
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <list>
#include <mutex>
#include <thread>

#include "resetd/authsock/auth_socket.h"

namespace resetd::authsock {
namespace {

int64_t mono_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void send_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return;
    }
    off += static_cast<size_t>(n);
  }
}

// Reads up to the first LF within the deadline; false on timeout, EOF,
// oversize or error.
bool read_line(int fd, std::string* line, size_t max, int64_t deadline_ms) {
  char buf[1024];
  for (;;) {
    const size_t lf = line->find('\n');
    if (lf != std::string::npos) {
      line->resize(lf);
      return true;
    }
    if (line->size() > max) return false;
    const int64_t left = deadline_ms - mono_ms();
    if (left <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    const int pr = ::poll(&p, 1, static_cast<int>(left));
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) return false;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    line->append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

struct AuthSocketServer::Impl {
  AuthSocketOptions opts;
  CheckFn check;
  int listen_fd = -1;
  int stop_pipe[2] = {-1, -1};
  std::thread acceptor;
  std::mutex mu;
  struct Conn {
    std::thread t;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::list<Conn> conns;
  bool bound = false;

  void reap(bool all) {
    std::lock_guard<std::mutex> lock(mu);
    for (auto it = conns.begin(); it != conns.end();) {
      if (all || it->done->load()) {
        it->t.join();
        it = conns.erase(it);
      } else {
        ++it;
      }
    }
  }

  void serve(int fd) {
    std::string line;
    AuthReply reply;
    if (!read_line(fd, &line, opts.max_line, mono_ms() + opts.read_deadline_ms)) {
      reply = {false, "bad_request", "No complete request line in time."};
    } else {
      auto req = decode_request(line);
      if (!req) {
        reply = {false, "bad_request", req.error().message};
      } else {
        ucred cred{};
        socklen_t len = sizeof cred;
        if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
          req->peer_uid = cred.uid;
          req->peer_pid = cred.pid;
        }
        try {
          reply = check(*req);
        } catch (const std::exception& e) {
          std::cerr << "authsock: check failed: " << e.what() << "\n";
          reply = {false, "internal_error", "The password could not be checked now."};
        }
        explicit_bzero(req->password.data(), req->password.size());
      }
    }
    explicit_bzero(line.data(), line.size());
    send_all(fd, encode_reply(reply));
    ::close(fd);
  }

  void accept_loop() {
    for (;;) {
      pollfd p[2] = {{listen_fd, POLLIN, 0}, {stop_pipe[0], POLLIN, 0}};
      const int pr = ::poll(p, 2, 1000);
      if (pr < 0 && errno != EINTR) return;
      if (p[1].revents) return;
      reap(false);
      if (pr <= 0 || !(p[0].revents & POLLIN)) continue;
      const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      size_t active;
      {
        std::lock_guard<std::mutex> lock(mu);
        active = conns.size();
      }
      if (active >= static_cast<size_t>(opts.max_connections)) {
        send_all(fd, encode_reply({false, "busy", "Too many password checks at once; try again."}));
        ::close(fd);
        continue;
      }
      auto done = std::make_shared<std::atomic<bool>>(false);
      std::lock_guard<std::mutex> lock(mu);
      conns.push_back({std::thread([this, fd, done] {
                         serve(fd);
                         done->store(true);
                       }),
                       done});
    }
  }
};

AuthSocketServer::AuthSocketServer(AuthSocketOptions opts, CheckFn check)
    : impl_(std::make_unique<Impl>()) {
  impl_->opts = std::move(opts);
  impl_->check = std::move(check);
}

AuthSocketServer::~AuthSocketServer() { stop(); }

bool AuthSocketServer::start(std::string* error) {
  Impl& im = *impl_;
  namespace fs = std::filesystem;
  const std::string& path = im.opts.path;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    *error = "pam: socket path too long or empty: " + path;
    return false;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  gid_t gid = static_cast<gid_t>(-1);
  if (!im.opts.group.empty()) {
    group g{}, *res = nullptr;
    std::string buf(16384, '\0');
    if (::getgrnam_r(im.opts.group.c_str(), &g, buf.data(), buf.size(), &res) != 0 || !res) {
      *error = "pam: no such group '" + im.opts.group + "' (pam.group)";
      return false;
    }
    gid = g.gr_gid;
  }
  std::error_code ec;
  const fs::path dir = fs::path(path).parent_path();
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) {
      *error = "pam: cannot create " + dir.string() + ": " + ec.message();
      return false;
    }
    ::chmod(dir.c_str(), 0755);
  }
  // chown/chmod below go by path: whoever else may rename entries of the
  // directory could swap the socket for a link between bind and chmod.
  struct stat st{};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    *error = "pam: " + dir.string() + " is not a directory";
    return false;
  }
  if (st.st_uid != 0 && st.st_uid != ::geteuid()) {
    *error = "pam: " + dir.string() + " is owned by another user (uid " + std::to_string(st.st_uid) +
             "); use a directory of root or the service user, e.g. /run/resetd";
    return false;
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
    *error = "pam: " + dir.string() + " is writable by other users; use a directory only the service may write, e.g. /run/resetd";
    return false;
  }
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      *error = "pam: " + path + " exists and is not a socket";
      return false;
    }
    // A live service answers a connect; a stale file from a crash doesn't.
    const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool live = probe >= 0 && ::connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    if (probe >= 0) ::close(probe);
    if (live) {
      *error = "pam: " + path + " is in use by another running service";
      return false;
    }
    ::unlink(path.c_str());
  }
  im.listen_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (im.listen_fd < 0) {
    *error = std::string("pam: socket: ") + strerror(errno);
    return false;
  }
  // 0600 from the start; only after chown does it open up to the group.
  const mode_t old = ::umask(0177);
  const int brc = ::bind(im.listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  const int berr = errno;
  ::umask(old);
  if (brc != 0) {
    *error = "pam: cannot bind " + path + ": " + strerror(berr);
    ::close(im.listen_fd);
    im.listen_fd = -1;
    return false;
  }
  im.bound = true;
  if ((gid != static_cast<gid_t>(-1) && ::chown(path.c_str(), static_cast<uid_t>(-1), gid) != 0) ||
      ::chmod(path.c_str(), 0660) != 0 || ::listen(im.listen_fd, 32) != 0 || ::pipe2(im.stop_pipe, O_CLOEXEC) != 0) {
    *error = "pam: cannot set up " + path + ": " + strerror(errno);
    stop();
    return false;
  }
  im.acceptor = std::thread([&im] { im.accept_loop(); });
  return true;
}

void AuthSocketServer::stop() {
  if (!impl_) return;
  Impl& im = *impl_;
  if (im.acceptor.joinable()) {
    const char b = 1;
    (void)!::write(im.stop_pipe[1], &b, 1);
    im.acceptor.join();
  }
  im.reap(true);
  if (im.listen_fd >= 0) ::close(im.listen_fd);
  im.listen_fd = -1;
  for (int& fd : im.stop_pipe) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  if (im.bound) ::unlink(im.opts.path.c_str());
  im.bound = false;
}

}  // namespace resetd::authsock
