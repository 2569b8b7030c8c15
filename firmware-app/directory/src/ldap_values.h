// Value encodings the directory needs (libldap-free callers' view): AD's
// unicodePwd value, hex of binary ids, filter escaping. Stateless, thread-safe.
#pragma once

#include <cstddef>
#include <string>

namespace resetd::directory {

// UTF-16LE of "\"" + pw + "\"" (AD's unicodePwd value). Input is valid UTF-8
// (AccountService checks before).
std::string ad_password_value(const std::string& pw);
// Lower-case hex of n bytes (AD objectGUID as an id).
std::string hex(const char* p, size_t n);
// RFC 4515 escaping of one assertion value; empty when libldap cannot.
std::string escape_filter(const std::string& v);

}  // namespace resetd::directory
