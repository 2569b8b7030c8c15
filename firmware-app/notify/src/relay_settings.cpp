#include "resetd/notify/relay_settings.h"

#include <nlohmann/json.hpp>

namespace resetd::notify {

using json = nlohmann::json;


RelaySettings::RelaySettings(storage::Store& store, const crypto::SecretBox& box, RelayConfig file)
    : store_(store), box_(box), file_(std::move(file)) {}

RelayConfig RelaySettings::current() const {
  std::optional<std::string> v;
  store_.read([&](storage::Reader& r) { v = r.setting("relay"); });
  RelayConfig c = file_;
  if (!v) return c;
  auto j = json::parse(*v, nullptr, false);
  if (!j.is_object()) return c;
  c.kind = j.value("kind", c.kind);
  c.host = j.value("host", c.host);
  c.port = j.value("port", c.port);
  c.security = j.value("security", c.security);
  c.username = j.value("username", c.username);
  c.from = j.value("from", c.from);
  c.ca_file = j.value("ca_file", c.ca_file);
  c.timeout_s = j.value("timeout_s", c.timeout_s);
  c.url = j.value("url", c.url);
  auto unseal = [&](const char* key, std::string& out) {
    if (!j.contains(key)) return;
    const std::string s = j[key].get<std::string>();
    if (s.empty()) {
      out.clear();
      return;
    }
    if (auto p = box_.open_hex(s)) out = *p;  // key lost: keep the file's value
  };
  unseal("password_sealed", c.password);
  unseal("secret_sealed", c.secret);
  return c;
}

Result<std::unique_ptr<Relay>> RelaySettings::save(const RelayConfig& c) {
  auto relay = make_relay(c);
  if (!relay) return relay.error();
  json j = {{"kind", c.kind},       {"host", c.host},       {"port", c.port},
            {"security", c.security}, {"username", c.username}, {"from", c.from},
            {"ca_file", c.ca_file}, {"timeout_s", c.timeout_s}, {"url", c.url},
            {"password_sealed", c.password.empty() ? "" : box_.seal_hex(c.password)},
            {"secret_sealed", c.secret.empty() ? "" : box_.seal_hex(c.secret)}};
  store_.write([&](storage::Writer& w) { w.put_setting("relay", j.dump()); });
  return relay;
}

}  // namespace resetd::notify
