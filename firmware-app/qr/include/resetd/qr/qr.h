// A QR code encoder (ISO/IEC 18004) for the appliance's own pages: byte mode,
// error correction level M, versions 1-10 (up to 213 bytes) — enough for an
// otpauth:// URI. No network, no library: the enrolment page draws the matrix.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace resetd::qr {

// The modules, row by row: true = dark. size() is the side (21 + 4*(version-1)),
// without the quiet zone (4 modules the drawer adds around it).
using Matrix = std::vector<std::vector<bool>>;

// The smallest version that holds `data`; nullopt when it is longer than 213 bytes.
std::optional<Matrix> encode(const std::string& data);

}  // namespace resetd::qr
