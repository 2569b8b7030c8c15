// The attestation object of a registration (WebAuthn §6.5): a CBOR map of
// "fmt", "attStmt" and "authData". Only its top level is read here (a small
// definite-length CBOR walker); libfido2 decodes the attestation statement
// and checks its signature: "packed" self attestation (signed by the new key)
// with fido_cred_verify_self, "packed" with x5c (signed by the certificate's
// key) with fido_cred_verify. "none" goes the bare authenticator data's way.
#include <fido.h>

#include <memory>
#include <optional>

#include "registration.h"
#include "resetd/webauthn/webauthn.h"

namespace resetd::webauthn {
namespace {

Error invalid(std::string message) { return make_error("webauthn_invalid", std::move(message)); }

// One CBOR item at a time, definite lengths only (what authenticators send).
class Cbor {
 public:
  explicit Cbor(std::string_view s) : s_(s) {}
  size_t pos() const { return pos_; }
  bool done() const { return pos_ == s_.size(); }
  // The head of the next item: major type and argument.
  bool head(int& major, uint64_t& arg) {
    if (pos_ >= s_.size()) return false;
    const auto b = static_cast<uint8_t>(s_[pos_++]);
    major = b >> 5;
    const int info = b & 0x1f;
    if (info < 24) {
      arg = static_cast<uint64_t>(info);
      return true;
    }
    if (info > 27) return false;  // indefinite lengths and reserved values
    const size_t n = size_t{1} << (info - 24);
    if (s_.size() - pos_ < n) return false;
    arg = 0;
    for (size_t i = 0; i < n; ++i) arg = (arg << 8) | static_cast<uint8_t>(s_[pos_++]);
    return true;
  }
  // A byte or text string's contents.
  std::optional<std::string_view> string(int want_major) {
    int major = 0;
    uint64_t len = 0;
    if (!head(major, len) || major != want_major || len > s_.size() - pos_) return std::nullopt;
    const auto out = s_.substr(pos_, static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
    return out;
  }
  bool skip(int depth = 0) {
    int major = 0;
    uint64_t arg = 0;
    if (depth > 16 || !head(major, arg)) return false;
    switch (major) {
      case 0:
      case 1:
      case 7:  // integers; simple values and floats (their bytes were the argument)
        return true;
      case 2:
      case 3:
        if (arg > s_.size() - pos_) return false;
        pos_ += static_cast<size_t>(arg);
        return true;
      case 4:
      case 5: {
        const uint64_t n = major == 5 ? arg * 2 : arg;
        if (arg > s_.size() || n > s_.size() - pos_) return false;  // each item takes a byte at least
        for (uint64_t i = 0; i < n; ++i)
          if (!skip(depth + 1)) return false;
        return true;
      }
      default:  // 6: a tag and its item
        return skip(depth + 1);
    }
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

struct CredFree {
  void operator()(fido_cred_t* c) const { fido_cred_free(&c); }
};

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

}  // namespace

Result<NewKey> verify_attestation(const Expected& want, std::string_view client_data_json,
                                  std::string_view attestation_object) {
  if (attestation_object.size() > 8192) return invalid("The attestation object is too large.");
  Cbor c(attestation_object);
  int major = 0;
  uint64_t n = 0;
  if (!c.head(major, n) || major != 5 || n > 8) return invalid("The attestation object is not a CBOR map.");
  std::optional<std::string_view> fmt, auth, stmt;
  for (uint64_t i = 0; i < n; ++i) {
    const auto key = c.string(3);
    if (!key) return invalid("The attestation object is malformed.");
    if (*key == "fmt" && !fmt) {
      fmt = c.string(3);
      if (!fmt) return invalid("The attestation format is malformed.");
    } else if (*key == "authData" && !auth) {
      auth = c.string(2);
      if (!auth) return invalid("The authenticator data is malformed.");
    } else if (*key == "attStmt" && !stmt) {
      const size_t from = c.pos();
      if (!c.skip()) return invalid("The attestation statement is malformed.");
      stmt = attestation_object.substr(from, c.pos() - from);
    } else {
      return invalid("The attestation object has an unknown or repeated field.");
    }
  }
  if (!c.done() || !fmt || !auth || !stmt) return invalid("The attestation object is incomplete.");
  if (*fmt == "none") {
    if (*stmt != std::string_view("\xa0", 1)) return invalid("Attestation \"none\" carries no statement.");
    return verify_registration(want, client_data_json, *auth);
  }
  if (*fmt != "packed") return invalid("Only the attestation formats \"none\" and \"packed\" are accepted.");
  std::unique_ptr<fido_cred_t, CredFree> cred(fido_cred_new());
  if (!cred) return make_error("internal_error", "Out of memory.");
  if (auto st = detail::prepare_registration(cred.get(), want, client_data_json, *auth); !st) return st.error();
  if (fido_cred_set_fmt(cred.get(), "packed") != FIDO_OK ||
      fido_cred_set_attstmt(cred.get(), bytes(*stmt), stmt->size()) != FIDO_OK)
    return invalid("The \"packed\" attestation statement is malformed or not ES256.");
  // x5c: the certificate's key signed authData||clientDataHash (its maker is
  // not looked up: no vendor's root is trusted or needed). No x5c: self
  // attestation, signed by the new credential's own key.
  const bool x5c = fido_cred_x5c_len(cred.get()) > 0;
  if ((x5c ? fido_cred_verify(cred.get()) : fido_cred_verify_self(cred.get())) != FIDO_OK)
    return invalid(x5c ? "The key's attestation (x5c) does not verify." : "The key's self attestation does not verify.");
  return detail::new_key(cred.get(), want);
}

}  // namespace resetd::webauthn
