// See systemd_notify.h.
#include "systemd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace resetd::cli {
namespace {

long long now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

SystemdNotifier::SystemdNotifier() {
  const char* s = std::getenv("NOTIFY_SOCKET");
  // A path ("/run/systemd/notify") or an abstract name ("@..."); nothing else.
  if (s && (s[0] == '/' || s[0] == '@') && std::strlen(s) < sizeof(sockaddr_un::sun_path)) socket_ = s;
  const char* us = std::getenv("WATCHDOG_USEC");
  const char* pid = std::getenv("WATCHDOG_PID");
  // WATCHDOG_PID, when set, names the process systemd watches: not a child of ours.
  if (us && (!pid || std::atoll(pid) == static_cast<long long>(getpid()))) watchdog_us_ = std::atoll(us);
  if (watchdog_us_ < 0 || socket_.empty()) watchdog_us_ = 0;
}

bool SystemdNotifier::send(const std::string& state) const {
  if (socket_.empty()) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_.data(), socket_.size());
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_.size());
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const ssize_t n = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                             reinterpret_cast<const sockaddr*>(&addr), len);
  ::close(fd);
  return n == static_cast<ssize_t>(state.size());
}

void SystemdNotifier::watchdog_kick() {
  if (watchdog_us_ <= 0) return;
  const long long now = now_us();
  long long last = last_kick_us_.load(std::memory_order_relaxed);
  if (now - last < watchdog_us_ / 3) return;
  if (!last_kick_us_.compare_exchange_strong(last, now)) return;  // another thread just sent it
  send("WATCHDOG=1");
}

}  // namespace resetd::cli
