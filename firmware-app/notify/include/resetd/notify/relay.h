// Relay: where a finished message goes. One interface, three implementations
// (smtp via libcurl, webhook via libcurl, file), chosen from RelayConfig.
// A Relay instance is used by one thread at a time (the outbox worker, or a
// "send test message" request); make_relay() is thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "resetd/common/result.h"

namespace resetd::notify {

struct RelayConfig {
  std::string kind = "file";  // smtp | webhook | file
  std::string host = "127.0.0.1";
  int port = 25;
  std::string security = "none";  // none | starttls | tls
  std::string username;           // empty = no AUTH
  std::string password;           // contents of password_file (trimmed)
  std::string from = "IT Helpdesk <it-helpdesk@appliance.local>";
  std::string ca_file;
  int timeout_s = 20;
  std::string url;     // webhook target
  std::string secret;  // webhook HMAC key (trimmed contents of secret_file)
  std::string mail_dir;  // file relay: data_dir/mail
  std::string helo_name = "resetd.local";
};

// One message for one recipient.
struct Envelope {
  int64_t id = 0;          // outbox id
  std::string kind;        // outbox kind
  std::string to;          // bare address
  std::string subject;     // UTF-8
  std::string body;        // UTF-8 plain text, LF line ends (converted as needed)
  std::string message_id;  // without angle brackets, stable across retries
  int64_t created_at = 0;  // Unix seconds
  int64_t date = 0;        // Unix seconds, for the Date header
};

enum class Outcome { Sent, Temporary, Permanent };

struct DeliveryResult {
  Outcome outcome = Outcome::Temporary;
  // The relay's last reply line (SMTP), "HTTP <status> (<fixed phrase>)"
  // (webhook: the target's body is never kept), or "written <file name>" (file). Never contains a secret.
  std::string answer;
};

class Relay {
 public:
  virtual ~Relay() = default;
  virtual DeliveryResult deliver(const Envelope& e) = 0;
  // e.g. "smtp 10.0.0.5:25 starttls" — for logs and the settings page
  virtual std::string describe() const = 0;
};

// Checks the config (kind, security, port range, url scheme, ...) and builds
// the relay; an Error names the field at fault.
Result<std::unique_ptr<Relay>> make_relay(const RelayConfig& c);

}  // namespace resetd::notify
