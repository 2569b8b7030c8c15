// Clock: the one source of time for every module (STYLE rule 3: passed in,
// never global). Wall time is for what is stored and shown (RFC 3339 in the
// API); monotonic time is for timers: backoff, throttling, idle timeouts.
// Thread-safe: implementations must be callable from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <string>

namespace resetd {

class Clock {
 public:
  virtual ~Clock() = default;
  // Unix seconds, wall clock.
  virtual int64_t now() const = 0;
  // Monotonic milliseconds since an arbitrary origin.
  virtual int64_t mono_ms() const = 0;
};

// The real clocks, plus a test-only offset (seconds) added to the wall clock
// and the monotonic clock alike, so integration tests can move time forward.
class SystemClock final : public Clock {
 public:
  int64_t now() const override {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count() +
           offset_s_.load();
  }
  int64_t mono_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
               .count() +
           offset_s_.load() * 1000;
  }
  void set_offset_seconds(int64_t s) { offset_s_.store(s); }
  int64_t offset_seconds() const { return offset_s_.load(); }

 private:
  std::atomic<int64_t> offset_s_{0};
};

// A clock the test moves by hand.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start = 1'800'000'000) : now_(start) {}
  int64_t now() const override { return now_.load(); }
  int64_t mono_ms() const override { return mono_.load(); }
  void advance(int64_t seconds) {
    now_ += seconds;
    mono_ += seconds * 1000;
  }
  void advance_ms(int64_t ms) { mono_ += ms; }
  // The wall clock jumps (NTP, a board without RTC); monotonic time does not.
  void jump_wall(int64_t seconds) { now_ += seconds; }

 private:
  std::atomic<int64_t> now_;
  std::atomic<int64_t> mono_{0};
};

// When the binary was built; a wall clock before this is "unset" (spec §9).
// Defined in build_epoch.cpp, the one file the build date reaches: a new date
// (every fresh clone has one) recompiles that file, not every module.
int64_t build_epoch();

inline bool wall_clock_plausible(int64_t now) { return now >= build_epoch(); }

// RFC 3339 UTC, e.g. 2026-11-22T01:54:04Z. Years 1000-9999 are computed
// here (a list page formats three per user; gmtime_r takes glibc's time-zone
// lock and strftime is slow); others go through strftime as before.
inline std::string rfc3339(int64_t unix_s) {
  int64_t days = unix_s / 86400;
  int64_t secs = unix_s % 86400;
  if (secs < 0) {
    secs += 86400;
    days -= 1;
  }
  // civil_from_days (H. Hinnant), proleptic Gregorian, as gmtime.
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  if (year >= 1000 && year <= 9999) {
    char out[20];
    auto put2 = [&out](int at, int64_t v) {
      out[at] = static_cast<char>('0' + v / 10);
      out[at + 1] = static_cast<char>('0' + v % 10);
    };
    put2(0, year / 100);
    put2(2, year % 100);
    out[4] = '-';
    put2(5, month);
    out[7] = '-';
    put2(8, day);
    out[10] = 'T';
    put2(11, secs / 3600);
    out[13] = ':';
    put2(14, secs / 60 % 60);
    out[16] = ':';
    put2(17, secs % 60);
    out[19] = 'Z';
    return std::string(out, sizeof out);
  }
  std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace resetd
