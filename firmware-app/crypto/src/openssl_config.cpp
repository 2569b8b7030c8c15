// OpenSSL's start-up in resetd (see crypto.h, load_openssl_config).
//
// Debian's cpp-httplib is a shared library whose constructor calls
// OPENSSL_init_ssl(LOAD_SSL_STRINGS | LOAD_CRYPTO_STRINGS); OPENSSL_init_ssl
// also registers every legacy cipher and digest by name and reads openssl.cnf.
// In a process that serves plain HTTP and relays through a file, none of it is
// ever used, and it was ~1.5 MB of resetd's idle RSS (in a bare C program: the
// crypto library's error texts 1.35 MB, the name tables 0.37 MB, the
// configuration machinery ~0.8 MB even for an empty file). The step below runs
// from .preinit_array, before any shared library's constructor (ELF gABI), and
// takes those init steps' one-time slots with OpenSSL's NO_* options, so the
// later request does nothing. OPENSSL_init_crypto needs no constructor of its
// own to have run. The SSL error texts (what TLS and
// libcurl report) still load. Algorithms come from OpenSSL's providers, not by
// legacy name, so nothing resetd or libcurl does depends on the name tables.
#include <openssl/conf.h>
#include <openssl/crypto.h>

#include <mutex>

#include "resetd/crypto/crypto.h"

namespace resetd::crypto {
namespace {

void openssl_lean_start(int, char**, char**) {
  OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS | OPENSSL_INIT_NO_ADD_ALL_CIPHERS |
                          OPENSSL_INIT_NO_ADD_ALL_DIGESTS | OPENSSL_INIT_NO_LOAD_CONFIG,
                      nullptr);
}
[[gnu::section(".preinit_array"), gnu::used]] void (*const openssl_lean_start_p)(int, char**, char**) =
    openssl_lean_start;

}  // namespace

void load_openssl_config() {
  static std::once_flag once;
  // What OpenSSL's own first LOAD_CONFIG does: the built-in modules (oid_section,
  // alg_section, ssl_conf, providers, random), then the default file (OPENSSL_CONF
  // or the system's openssl.cnf) and its default section; a missing file is no error.
  std::call_once(once, [] {
    OPENSSL_load_builtin_modules();
    CONF_modules_load_file(nullptr, nullptr,
                           CONF_MFLAGS_DEFAULT_SECTION | CONF_MFLAGS_IGNORE_MISSING_FILE |
                               CONF_MFLAGS_IGNORE_RETURN_CODES);
  });
}

}  // namespace resetd::crypto
