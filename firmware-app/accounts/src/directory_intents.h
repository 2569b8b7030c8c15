// Internal to accounts: what the directory write path and its resolver share.
#pragma once

#include <chrono>
#include <cstdint>

namespace resetd::accounts {

constexpr int64_t kAllOpen = 1000000;  // no open intent is ever left unread

inline int64_t mono_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace resetd::accounts
