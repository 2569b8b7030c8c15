// The three Relay implementations, built by make_relay() from a config it has
// already checked. Private to notify.
#pragma once

#include <memory>

#include "resetd/notify/relay.h"

namespace resetd::notify::detail {

std::unique_ptr<Relay> make_file_relay(const RelayConfig& c);
std::unique_ptr<Relay> make_smtp_relay(const RelayConfig& c);
std::unique_ptr<Relay> make_webhook_relay(const RelayConfig& c);

}  // namespace resetd::notify::detail
