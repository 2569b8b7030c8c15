// base64url (RFC 4648 §5) without padding, and the rp id of a host name.
#include <arpa/inet.h>

#include <array>

#include "resetd/webauthn/webauthn.h"

namespace resetd::webauthn {
namespace {
constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int value_of(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}
}  // namespace

std::string base64url_encode(std::string_view raw) {
  std::string out;
  out.reserve((raw.size() * 4 + 2) / 3);
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : raw) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 0x3f];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 0x3f];
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const int v = value_of(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // Non-canonical trailing bits would let two texts name the same bytes.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::optional<std::string> rp_id_for_host(std::string_view host) {
  if (host.empty()) return std::nullopt;
  if (host.front() == '[') return std::nullopt;  // an IPv6 literal, bracketed
  if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
    if (host.find(':') != colon) return std::nullopt;  // a bare IPv6 literal
    host = host.substr(0, colon);
  }
  while (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.empty()) return std::nullopt;
  std::string name;
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    if (!ok) return std::nullopt;
    name += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  std::array<unsigned char, 16> buf{};
  if (inet_pton(AF_INET, name.c_str(), buf.data()) == 1) return std::nullopt;
  // A dotted all-digit name is an IPv4 address to a browser too (e.g. 127.1).
  if (name.find_first_not_of("0123456789.") == std::string::npos) return std::nullopt;
  return name;
}

}  // namespace resetd::webauthn
