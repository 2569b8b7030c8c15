// The socket under a directory Session: one TCP connection to exactly one
// server (libldap is handed the connected socket, so it never picks another
// address or falls through to a list entry on its own), and a watchdog that
// bounds the TLS handshake libldap would otherwise wait on forever. Each
// failure says why, as a Failure code (directory.h).
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "ldap_url.h"
#include "resetd/directory/directory.h"

namespace resetd::directory {

struct Connected {
  int fd = -1;                    // a blocking socket the caller owns; -1 on failure
  Failure failure = Failure::None;
  std::string text;               // why not, for the audit and logs
};

// Resolves u.host and connects to its addresses in turn within timeout_s in all.
Connected connect_tcp(const ServerUrl& u, int timeout_s);

// Shuts `fd` down (both ways; the owner still closes it) when `seconds` pass
// before stop(), so a blocked read on it returns. One per connection step,
// owned by the thread doing that step.
class Watchdog {
 public:
  Watchdog(int fd, int seconds);
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  ~Watchdog() { stop(); }
  // Ends the watch; true when it had fired.
  bool stop();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  bool fired_ = false;
  std::thread thread_;  // last: starts after the members it uses
};

}  // namespace resetd::directory
