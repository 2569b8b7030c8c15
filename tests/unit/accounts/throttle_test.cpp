#include <boost/test/unit_test.hpp>

#include "resetd/accounts/throttle.h"

using namespace resetd;
using namespace resetd::accounts;

BOOST_AUTO_TEST_SUITE(RateLimiterTests)

BOOST_AUTO_TEST_CASE(take_overLimit_waitsUntilWindowEnds) {
  ManualClock clock;
  RateLimiter rl(clock, 3, 60);
  BOOST_TEST(rl.take("k") == 0);
  BOOST_TEST(rl.take("k") == 0);
  BOOST_TEST(rl.take("k") == 0);
  BOOST_TEST(rl.take("k") == 60);
  BOOST_TEST(rl.take("other") == 0);
  clock.advance(59);
  BOOST_TEST(rl.retry_after("k") == 1);
  clock.advance(1);
  BOOST_TEST(rl.take("k") == 0);
}

BOOST_AUTO_TEST_CASE(hit_manyKeys_staysBounded) {
  ManualClock clock;
  RateLimiter rl(clock, 1, 60, 100);
  for (int i = 0; i < 1000; ++i) rl.hit("k" + std::to_string(i));
  // the newest key is still tracked after eviction of old ones
  BOOST_TEST(rl.retry_after("k999") > 0);
}

BOOST_AUTO_TEST_CASE(clear_forgetsKey) {
  ManualClock clock;
  RateLimiter rl(clock, 1, 60);
  rl.hit("k");
  BOOST_TEST(rl.retry_after("k") > 0);
  rl.clear("k");
  BOOST_TEST(rl.retry_after("k") == 0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(SignInThrottleTests)

BOOST_AUTO_TEST_CASE(failed_growingDelayThenLockoutAtTenth) {
  ManualClock clock;
  SignInThrottle t(clock, 10, 900);
  for (int i = 1; i <= 3; ++i) t.failed("u");
  BOOST_TEST(t.wait_s("u") == 1);
  t.failed("u");
  BOOST_TEST(t.wait_s("u") == 2);
  for (int i = 5; i <= 9; ++i) t.failed("u");
  BOOST_TEST(t.wait_s("u") == 60);
  auto [n, locked] = t.failed("u");
  BOOST_TEST(n == 10);
  BOOST_TEST(locked);
  BOOST_TEST(t.wait_s("u") == 900);
  clock.advance(900);
  BOOST_TEST(t.wait_s("u") == 0);
}

BOOST_AUTO_TEST_CASE(wait_s_wallClockJumps_doNotChangeTheDelay) {
  ManualClock clock;
  SignInThrottle t(clock, 10, 900);
  for (int i = 0; i < 4; ++i) t.failed("u");
  BOOST_TEST(t.wait_s("u") == 2);
  clock.jump_wall(-86400);
  BOOST_TEST(t.wait_s("u") == 2);
  clock.jump_wall(+3 * 86400);
  BOOST_TEST(t.wait_s("u") == 2);
  clock.advance_ms(2000);
  BOOST_TEST(t.wait_s("u") == 0);
}

BOOST_AUTO_TEST_CASE(seed_afterRestart_lockCappedAtLockoutLength) {
  ManualClock clock;
  SignInThrottle t(clock, 10, 900);
  t.seed("u", 10, 10 * 86400);  // a wall time far ahead must not lock for days
  BOOST_TEST(t.wait_s("u") == 900);
  t.seed("u", 50, 100);  // already tracked: ignored
  BOOST_TEST(t.wait_s("u") == 900);
}

BOOST_AUTO_TEST_CASE(clear_forgetsFailures) {
  ManualClock clock;
  SignInThrottle t(clock, 10, 900);
  for (int i = 0; i < 10; ++i) t.failed("u");
  t.clear("u");
  BOOST_TEST(t.wait_s("u") == 0);
  BOOST_TEST(t.failed("u").first == 1);
}

BOOST_AUTO_TEST_CASE(reserve_parallelAttempts_seeEachOtherBeforeVerifying) {
  ManualClock clock;
  SignInThrottle t(clock, 10, 900);
  // 40 attempts arrive before any is verified: only the 3 free ones pass.
  int allowed = 0;
  for (int i = 0; i < 40; ++i) allowed += t.reserve("u").allowed ? 1 : 0;
  BOOST_TEST(allowed == 3);
  BOOST_TEST(t.wait_s("u") == 1);
}

BOOST_AUTO_TEST_CASE(release_unverifiedAttempt_isNotCounted) {
  ManualClock clock;
  SignInThrottle t(clock, 10, 900);
  auto r = t.reserve("u");
  BOOST_TEST(r.allowed);
  BOOST_TEST(r.failures == 1);
  t.release("u", r);
  BOOST_TEST(t.reserve("u").failures == 1);
}

BOOST_AUTO_TEST_CASE(reserve_tenth_locksAndReleaseUndoesTheLock) {
  ManualClock clock;
  SignInThrottle t(clock, 10, 900);
  for (int i = 1; i <= 9; ++i) {
    BOOST_TEST_REQUIRE(t.reserve("u").allowed);
    clock.advance(60);
  }
  auto r = t.reserve("u");
  BOOST_TEST(r.locked);
  BOOST_TEST(t.wait_s("u") == 900);
  t.release("u", r);
  BOOST_TEST(t.wait_s("u") <= 60);
}

BOOST_AUTO_TEST_SUITE_END()
