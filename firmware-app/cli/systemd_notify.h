// systemd's service notifications (sd_notify(3)) for Type=notify: READY=1 once
// the API listens, STATUS= lines, STOPPING=1, and WATCHDOG=1 pings that the
// serving loop sends while it serves (WatchdogSec= in resetd.service).
//
// Written by hand (one datagram to the AF_UNIX socket named by $NOTIFY_SOCKET,
// the documented, stable protocol) rather than linked from libsystemd: the ARM
// builds would need libsystemd-dev for arm64 and for armhf's hand-unpacked
// sysroot, for some thirty lines. Without systemd ($NOTIFY_SOCKET unset: a
// shell, the tests, a container) every call does nothing.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

namespace resetd::cli {

class SystemdNotifier {
 public:
  // Reads $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID (set by systemd).
  SystemdNotifier();
  // Sends one message, e.g. "READY=1\nSTATUS=listening"; false when not sent.
  bool send(const std::string& state) const;
  // WATCHDOG=1, at most every third of WatchdogSec=; thread-safe, cheap to
  // call often. Call it only from a path that proves the service works.
  void watchdog_kick();
  bool watchdog_enabled() const { return watchdog_us_ > 0; }

 private:
  std::string socket_;
  long long watchdog_us_ = 0;
  std::atomic<long long> last_kick_us_{0};
};

}  // namespace resetd::cli
