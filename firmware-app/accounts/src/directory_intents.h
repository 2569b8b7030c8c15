// Internal to accounts: what the directory write path and its resolver share.
#pragma once

#include <chrono>
#include <cstdint>

namespace resetd::accounts {

constexpr int64_t kAllOpen = 1000000;  // no open intent is ever left unread

// Real monotonic time, as the LDAP transport's own timeouts use, not the
// service's clock_.mono_ms(): that one carries the test builds' clock offset,
// and moving it forward must not age a write still out in the network past its
// settle grace.
inline int64_t mono_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace resetd::accounts
