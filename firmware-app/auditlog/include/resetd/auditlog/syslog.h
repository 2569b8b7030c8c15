// The audit trail in the site's syslog: each audit row, once committed, also
// goes out as one RFC 5424 message with structured data, as a datagram to a
// local syslog socket (/dev/log, or a socket of rsyslog's own), from where the
// syslog daemon stores and forwards it (docs/syslog.md).
//
// format_rfc5424 is a pure function. SyslogSink is thread-safe and never
// blocks: when the socket is missing, refuses or is full, the message is
// dropped and counted; a request never waits for, or fails because of, syslog.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "resetd/storage/records.h"

namespace resetd::auditlog {

// The longest message sent (RFC 5424 §6.1: receivers must take 480 bytes and
// should take 2048; rsyslog's default maximum is 8 KiB).
constexpr size_t kMaxMessage = 2048;

// The SD-ID of the audit element. 32473 is the enterprise number RFC 5612
// reserves for documentation: the project has none of its own.
constexpr const char* kSdId = "resetd@32473";

struct SyslogIdentity {
  int facility = 4;                // auth
  std::string app_name = "resetd";  // printable ASCII, at most 48
  std::string hostname;            // "-" when empty
  int64_t pid = 0;                 // "-" when 0
};

// The facility code of a name (auth, authpriv, daemon, user, local0..local7),
// nullopt for any other.
std::optional<int> facility_code(const std::string& name);

// One audit row as an RFC 5424 message without a trailing newline:
//   <PRI>1 TIMESTAMP HOST APP PID MSGID [resetd@32473 actor="" action="" target=""
//   client="" outcome="" detail=""] actor action target: outcome
// MSGID is the action; severity is info for outcome "ok", warning otherwise.
// The parameters are exactly the row's actor, action, target, client, outcome
// and detail (the audit never holds a password, code, token or link, §11).
// Values are UTF-8 with '"', '\' and ']' escaped; control characters and
// invalid UTF-8 become '?'; long values are cut (detail first) so that the
// whole message is at most kMaxMessage bytes.
std::string format_rfc5424(const storage::AuditRecord& a, const SyslogIdentity& id);

class SyslogSink {
 public:
  // Sends to the Unix datagram socket at `socket_path` (at most 107 bytes).
  SyslogSink(std::string socket_path, SyslogIdentity id);
  ~SyslogSink();
  SyslogSink(const SyslogSink&) = delete;
  SyslogSink& operator=(const SyslogSink&) = delete;

  // Formats and sends one row without waiting. A failure is counted, and said
  // once on stderr when sending starts failing and once when it works again.
  void send(const storage::AuditRecord& a) noexcept;

  uint64_t sent() const { return sent_.load(); }
  uint64_t dropped() const { return dropped_.load(); }

 private:
  std::string path_;
  SyslogIdentity id_;
  int fd_ = -1;
  std::atomic<uint64_t> sent_{0}, dropped_{0};
  std::atomic<bool> failing_{false};
};

}  // namespace resetd::auditlog
