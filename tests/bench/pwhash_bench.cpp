// pwhash_bench OPSLIMIT MEMLIMIT_MIB N: median and min wall time of one bare
// crypto_pwhash_str (through the crypto wrapper, one slot) in milliseconds.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "resetd/crypto/crypto.h"

int main(int argc, char** argv) {
  if (argc != 4 || !resetd::crypto::init()) {
    std::fprintf(stderr, "usage: pwhash_bench OPSLIMIT MEMLIMIT_MIB N\n");
    return 2;
  }
  const unsigned ops = static_cast<unsigned>(std::atoi(argv[1]));
  const unsigned mem = static_cast<unsigned>(std::atoi(argv[2]));
  const int n = std::max(1, std::atoi(argv[3]));
  resetd::crypto::PasswordHasher h(ops, mem, 1);
  std::vector<double> ms;
  for (int i = 0; i < n; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    if (!h.hash("violet-tractor-moonbeam-42")) return 1;
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("pwhash ops=%u mem=%uMiB n=%d median_ms=%.1f min_ms=%.1f\n", ops, mem, n, ms[ms.size() / 2], ms[0]);
  // one bare verification (what a sign-in or `resetd auth-check` costs)
  auto stored = h.hash("violet-tractor-moonbeam-42");
  if (!stored) return 1;
  std::vector<double> vs;
  for (int i = 0; i < n; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto ok = h.verify(*stored, "violet-tractor-moonbeam-42");
    if (!ok || !*ok) return 1;
    vs.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(vs.begin(), vs.end());
  std::printf("verify ops=%u mem=%uMiB n=%d median_ms=%.1f min_ms=%.1f\n", ops, mem, n, vs[vs.size() / 2], vs[0]);
  return 0;
}
