// libFuzzer target: the TOML config loader (config::parse + validate). A bad
// file must end in an Error naming what is wrong — never a crash, an uncaught
// toml++ exception, or a refusal without a message.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "resetd/config/config.h"

using namespace resetd;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto r = config::parse(text, "fuzz.toml");
  if (r) {
    // parse() checks types and keys; validate() (run by load() after the
    // flags) checks values: a refusal must say what is wrong.
    if (auto v = config::validate(*r); !v && v.error().message.empty()) std::abort();
    std::string host;
    int port = 0;
    if (config::split_host_port(r->listen, &host, &port) && (port < 0 || port > 65535)) std::abort();
  } else if (r.error().message.empty()) {
    std::abort();
  }
  std::string host;
  int port = 0;
  if (config::split_host_port(text, &host, &port) && (port < 0 || port > 65535)) std::abort();
  return 0;
}
