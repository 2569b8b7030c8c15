// libldap is loaded on the directory's first call, not at start: with it come
// liblber, sasl2, gnutls, p11-kit, nettle, hogweed, gmp, tasn1, unistring,
// idn2 and ffi — about 2.6 MB of RSS that a site without a directory (and the
// CLI) never maps. Included by ldap_directory.cpp right after <ldap.h>: every
// libldap/liblber function it calls is routed here by a macro below, resolved
// once per call site with dlsym. Without the library each call fails as
// "not supported" (int results), returns null, or names the missing library
// (the error-text functions), and the directory reports that.
//
// A new libldap call in ldap_directory.cpp needs a line below: without one it
// would not link (the binary does not link libldap).
#pragma once

#include <ldap.h>

#include <type_traits>

namespace resetd::directory::lazy {

// The symbol from libldap-2.5.so.0 (or a library it depends on), or null when
// the library or symbol is missing. Thread-safe; loads at most once.
void* symbol(const char* name);
const char* load_error();

template <typename R>
R failed() {
  if constexpr (std::is_void_v<R>) {
    return;
  } else if constexpr (std::is_same_v<R, int>) {
    return LDAP_NOT_SUPPORTED;
  } else if constexpr (std::is_same_v<R, char*>) {
    return const_cast<char*>(load_error());
  } else if constexpr (std::is_same_v<R, const char*>) {
    return load_error();
  } else {
    return R{};
  }
}

template <typename F>
struct Missing;
template <typename R, typename... A>
struct Missing<R (*)(A...)> {
  static R call(A...) { return failed<R>(); }
};

template <typename F>
F get(const char* name) {
  void* p = symbol(name);
  return p ? reinterpret_cast<F>(p) : &Missing<F>::call;
}

}  // namespace resetd::directory::lazy

// decltype keeps the real declaration's type (unevaluated: no reference to
// the symbol); the lambda's static resolves once per call site.
#define RESETD_LDAP_LAZY(name)                                                          \
  ([]() {                                                                               \
    static const auto fn = ::resetd::directory::lazy::get<decltype(&::name)>(#name); \
    return fn;                                                                          \
  }())
#define ber_bvdup RESETD_LDAP_LAZY(ber_bvdup)
#define ber_bvfree RESETD_LDAP_LAZY(ber_bvfree)
#define ber_free RESETD_LDAP_LAZY(ber_free)
#define ber_memfree RESETD_LDAP_LAZY(ber_memfree)
#define ldap_bv2escaped_filter_value RESETD_LDAP_LAZY(ldap_bv2escaped_filter_value)
#define ldap_control_find RESETD_LDAP_LAZY(ldap_control_find)
#define ldap_control_free RESETD_LDAP_LAZY(ldap_control_free)
#define ldap_controls_free RESETD_LDAP_LAZY(ldap_controls_free)
#define ldap_count_entries RESETD_LDAP_LAZY(ldap_count_entries)
#define ldap_create_page_control RESETD_LDAP_LAZY(ldap_create_page_control)
#define ldap_create_passwordpolicy_control RESETD_LDAP_LAZY(ldap_create_passwordpolicy_control)
#define ldap_dn_normalize RESETD_LDAP_LAZY(ldap_dn_normalize)
#define ldap_err2string RESETD_LDAP_LAZY(ldap_err2string)
#define ldap_first_attribute RESETD_LDAP_LAZY(ldap_first_attribute)
#define ldap_first_entry RESETD_LDAP_LAZY(ldap_first_entry)
#define ldap_get_dn RESETD_LDAP_LAZY(ldap_get_dn)
#define ldap_get_option RESETD_LDAP_LAZY(ldap_get_option)
#define ldap_get_values_len RESETD_LDAP_LAZY(ldap_get_values_len)
#define ldap_init_fd RESETD_LDAP_LAZY(ldap_init_fd)
#define ldap_initialize RESETD_LDAP_LAZY(ldap_initialize)
#define ldap_install_tls RESETD_LDAP_LAZY(ldap_install_tls)
#define ldap_memfree RESETD_LDAP_LAZY(ldap_memfree)
#define ldap_modify_ext_s RESETD_LDAP_LAZY(ldap_modify_ext_s)
#define ldap_msgfree RESETD_LDAP_LAZY(ldap_msgfree)
#define ldap_next_attribute RESETD_LDAP_LAZY(ldap_next_attribute)
#define ldap_next_entry RESETD_LDAP_LAZY(ldap_next_entry)
#define ldap_parse_pageresponse_control RESETD_LDAP_LAZY(ldap_parse_pageresponse_control)
#define ldap_parse_passwordpolicy_control RESETD_LDAP_LAZY(ldap_parse_passwordpolicy_control)
#define ldap_parse_result RESETD_LDAP_LAZY(ldap_parse_result)
#define ldap_passwd RESETD_LDAP_LAZY(ldap_passwd)
#define ldap_passwordpolicy_err2txt RESETD_LDAP_LAZY(ldap_passwordpolicy_err2txt)
#define ldap_result RESETD_LDAP_LAZY(ldap_result)
#define ldap_sasl_bind RESETD_LDAP_LAZY(ldap_sasl_bind)
#define ldap_search_ext_s RESETD_LDAP_LAZY(ldap_search_ext_s)
#define ldap_set_option RESETD_LDAP_LAZY(ldap_set_option)
#define ldap_start_tls_s RESETD_LDAP_LAZY(ldap_start_tls_s)
#define ldap_tls_inplace RESETD_LDAP_LAZY(ldap_tls_inplace)
#define ldap_unbind_ext_s RESETD_LDAP_LAZY(ldap_unbind_ext_s)
#define ldap_value_free_len RESETD_LDAP_LAZY(ldap_value_free_len)
