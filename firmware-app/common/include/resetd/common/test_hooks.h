// Test hooks: the seams integration tests use to crash the service at a named
// point, hold a request there, or move its clock. They exist only in a test
// build (cmake -DRESETD_TEST_HOOKS=ON; build.sh test). In every other build
// (build.sh run, the package, the ARM packages) each function below is a
// no-op: the environment variables are never read and their names are not in
// the binary (tests/packaging/no_test_hooks.sh proves it on the package build).
// Only src/test_hooks.cpp depends on the option, so switching it recompiles
// one file and relinks.
#pragma once

namespace resetd::test_hooks {

// Whether this binary was built with the hooks (`resetd version` says so).
bool compiled_in();

// Prints one loud line to stderr per hook that is both compiled in and set in
// the environment; serve calls it at start.
void announce();

// RESETD_TEST_FAULT=<name>: dies here as kill -9 would (recovery tests);
// RESETD_TEST_FAULT=pause_<name>: holds the calling thread here for 1.5 s.
void fault_point(const char* name);

// RESETD_TEST_CLOCK_OFFSET_FILE: the file whose number of seconds the service
// adds to both its clocks; nullptr when unset or not compiled in.
const char* clock_offset_file();

}  // namespace resetd::test_hooks
