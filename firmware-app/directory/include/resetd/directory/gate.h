// A bound on how many directory calls run at once in the whole process, so a
// slow or hung directory can hold at most that many threads (the HTTP
// workers among them) and never all of them. Thread-safe; shared by every
// Directory the process makes, as settings swap them.
#pragma once

#include <atomic>
#include <memory>

#include "resetd/directory/directory.h"

namespace resetd::directory {

class CallGate {
 public:
  explicit CallGate(int slots) : free_(slots < 1 ? 1 : slots) {}
  // Takes a slot when one is free; false at once when none is.
  bool try_enter() {
    int n = free_.load();
    while (n > 0)
      if (free_.compare_exchange_weak(n, n - 1)) return true;
    return false;
  }
  void leave() { free_.fetch_add(1); }

 private:
  std::atomic<int> free_;
};

// `inner` behind `gate`: each call takes a slot for its duration; with none
// free it is not made and answers Unavailable with Failure::Busy (nothing was
// sent). kind(), local() and config() need no slot.
std::shared_ptr<Directory> gated(std::shared_ptr<Directory> inner, std::shared_ptr<CallGate> gate);

}  // namespace resetd::directory
