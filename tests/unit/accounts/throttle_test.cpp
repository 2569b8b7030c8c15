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
