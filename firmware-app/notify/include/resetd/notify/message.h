// Building RFC 5322 / MIME messages and RFC 2047 encoded words. Pure functions.
#pragma once

#include <string>

#include "resetd/notify/relay.h"

namespace resetd::notify {

// RFC 2047 "B" encoded-word(s) for a UTF-8 header value; ASCII-only printable
// values are returned unchanged. Long values are split into several encoded
// words on UTF-8 character boundaries (each word <= 75 chars), folded with CRLF SP.
std::string encode_header_word(const std::string& utf8);

// Full message with CRLF line ends: Date, Message-ID, From, To, Subject
// (RFC 2047), MIME-Version, Content-Type text/plain; charset=UTF-8,
// Content-Transfer-Encoding base64 (body lines wrapped at 76), plus
// Auto-Submitted: auto-generated. `from` is a display-name + address string.
std::string build_message(const Envelope& e, const std::string& from);

// The bare address of "Name <addr>" or "addr".
std::string bare_address(const std::string& from);

// A syntactically valid single email address (no display name, no CR/LF,
// one '@', non-empty local and domain parts, length <= 254).
bool valid_address(const std::string& addr);

}  // namespace resetd::notify
