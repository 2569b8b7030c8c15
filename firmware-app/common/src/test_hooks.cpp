// The test hooks of test_hooks.h: real in a test build (RESETD_TEST_HOOKS),
// empty in every other one.
#include "resetd/common/test_hooks.h"

#ifdef RESETD_TEST_HOOKS
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <thread>
#endif

namespace resetd::test_hooks {

#ifdef RESETD_TEST_HOOKS

bool compiled_in() { return true; }

void announce() {
  std::cerr << "resetd: TEST BUILD: test hooks compiled in (never ship this binary)\n";
  if (const char* f = std::getenv("RESETD_TEST_FAULT"))
    std::cerr << "resetd: TEST FAULT ENABLED (" << f << ")\n";
  if (const char* c = clock_offset_file()) std::cerr << "resetd: TEST CLOCK ENABLED (" << c << ")\n";
  std::cerr << std::flush;
}

void fault_point(const char* name) {
  const char* f = std::getenv("RESETD_TEST_FAULT");
  if (!f) return;
  if (std::strcmp(f, name) == 0) {
    std::cerr << "resetd: TEST FAULT at " << name << "\n" << std::flush;
    ::kill(::getpid(), SIGKILL);
  }
  if (std::strncmp(f, "pause_", 6) == 0 && std::strcmp(f + 6, name) == 0) {
    std::cerr << "resetd: TEST PAUSE at " << name << "\n" << std::flush;
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  }
}

const char* clock_offset_file() { return std::getenv("RESETD_TEST_CLOCK_OFFSET_FILE"); }

#else

bool compiled_in() { return false; }
void announce() {}
void fault_point(const char*) {}
const char* clock_offset_file() { return nullptr; }

#endif

}  // namespace resetd::test_hooks
