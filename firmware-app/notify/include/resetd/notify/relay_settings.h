// RelaySettings: the relay configuration admins change at run time. Kept in
// the settings table (key "relay"), overriding the config file's [relay];
// the SMTP password and webhook secret are sealed with the data dir's key and
// never returned. Thread-safe (the store serializes access).
#pragma once

#include <memory>

#include "resetd/common/result.h"
#include "resetd/crypto/crypto.h"
#include "resetd/notify/relay.h"
#include "resetd/storage/store.h"

namespace resetd::notify {

class RelaySettings {
 public:
  RelaySettings(storage::Store& store, const crypto::SecretBox& box, RelayConfig file_config);
  // The effective configuration: database values over the file's.
  RelayConfig current() const;
  // Validates `c` by building its relay; on success stores it and returns the relay.
  Result<std::unique_ptr<Relay>> save(const RelayConfig& c);

 private:
  storage::Store& store_;
  const crypto::SecretBox& box_;
  RelayConfig file_;
};

}  // namespace resetd::notify
