// make_relay: the one place a relay config is checked, so a bad config fails
// at start-up (or in the settings form) with the field at fault, never later
// in the worker.
#include <unistd.h>

#include "relays.h"
#include "resetd/notify/message.h"

namespace resetd::notify {
namespace {

Error bad(const std::string& field, const std::string& message) {
  return make_error("invalid_relay_config", message, field);
}

bool has_space_or_control(const std::string& s) {
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f) return true;
  }
  return false;
}

// http(s)://host[:port][/path] with a non-empty host and nothing that would
// let a value smuggle a header or a second URL.
bool valid_webhook_url(const std::string& url) {
  std::string rest;
  if (url.rfind("https://", 0) == 0) {
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return false;
  }
  if (has_space_or_control(url)) return false;
  size_t end = rest.find_first_of("/?#");
  std::string authority = rest.substr(0, end);
  if (authority.empty() || authority.find('@') != std::string::npos) return false;
  return authority[0] != ':';
}

}  // namespace

Result<std::unique_ptr<Relay>> make_relay(const RelayConfig& c) {
  if (c.kind != "smtp" && c.kind != "webhook" && c.kind != "file") {
    return bad("kind", "relay kind must be smtp, webhook or file, not \"" + c.kind + "\"");
  }
  if (c.security != "none" && c.security != "starttls" && c.security != "tls") {
    return bad("security",
               "relay security must be none, starttls or tls, not \"" + c.security + "\"");
  }
  if (c.timeout_s < 1 || c.timeout_s > 300) {
    return bad("timeout_s", "relay timeout_s must be 1-300, not " + std::to_string(c.timeout_s));
  }
  if (!valid_address(bare_address(c.from))) {
    return bad("from", "relay from must hold one valid address, e.g. IT <it@example.org>");
  }
  if (c.from.find_first_of("\r\n") != std::string::npos) {
    return bad("from", "relay from must be one line");
  }
  if (!c.ca_file.empty() && ::access(c.ca_file.c_str(), R_OK) != 0) {
    return bad("ca_file", "relay ca_file \"" + c.ca_file + "\" is not readable");
  }

  if (c.kind == "smtp") {
    if (c.host.empty() || has_space_or_control(c.host) ||
        c.host.find_first_of("/@?#") != std::string::npos) {
      return bad("host", "relay host must be a host name or IP address");
    }
    if (c.port < 1 || c.port > 65535) {
      return bad("port", "relay port must be 1-65535, not " + std::to_string(c.port));
    }
    if (has_space_or_control(c.helo_name) || c.helo_name.empty()) {
      return bad("helo_name", "relay helo_name must be a host name");
    }
    // AUTH over a plain connection hands the password to anyone on the path.
    if (!c.username.empty() && c.security == "none") {
      return bad("security",
                 "a relay username (AUTH) needs security starttls or tls; credentials are "
                 "never sent in clear");
    }
    if (c.username.find_first_of("\r\n") != std::string::npos ||
        c.password.find_first_of("\r\n") != std::string::npos) {
      return bad("username", "relay username and password must be one line each");
    }
    return std::unique_ptr<Relay>(detail::make_smtp_relay(c));
  }
  if (c.kind == "webhook") {
    if (!valid_webhook_url(c.url)) {
      return bad("url", "webhook url must start with http:// or https:// and name a host");
    }
    if (c.secret.empty()) {
      return bad("secret", "webhook needs a non-empty secret (secret_file) to sign requests");
    }
    return std::unique_ptr<Relay>(detail::make_webhook_relay(c));
  }
  if (c.mail_dir.empty()) {
    return bad("mail_dir", "file relay needs a mail directory");
  }
  return std::unique_ptr<Relay>(detail::make_file_relay(c));
}

}  // namespace resetd::notify
