#include <dlfcn.h>

#include "curl_global.h"
#include "resetd/crypto/crypto.h"

namespace resetd::notify::detail {
namespace {

struct Loaded {
  CurlApi api{};
  bool ok = false;
  std::string error;
};

template <typename F>
bool sym(void* lib, const char* name, F& out) {
  out = reinterpret_cast<F>(::dlsym(lib, name));
  return out != nullptr;
}

Loaded load() {
  Loaded l;
  void* lib = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* e = ::dlerror();
    l.error = std::string("libcurl could not be loaded (install libcurl4): ") + (e ? e : "unknown error");
    return l;
  }
  decltype(&::curl_global_init) global_init = nullptr;
  CurlApi& a = l.api;
  if (!sym(lib, "curl_global_init", global_init) || !sym(lib, "curl_easy_init", a.easy_init) ||
      !sym(lib, "curl_easy_setopt", a.easy_setopt) || !sym(lib, "curl_easy_perform", a.easy_perform) ||
      !sym(lib, "curl_easy_getinfo", a.easy_getinfo) || !sym(lib, "curl_easy_cleanup", a.easy_cleanup) ||
      !sym(lib, "curl_easy_strerror", a.easy_strerror) ||
      !sym(lib, "curl_slist_append", a.slist_append) || !sym(lib, "curl_slist_free_all", a.slist_free_all)) {
    l.error = "libcurl.so.4 lacks a function resetd needs";
    return l;  // the library stays loaded: harmless, and never retried
  }
  crypto::load_openssl_config();  // libcurl's own request for it is a no-op in resetd
  if (global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    l.error = "libcurl initialisation failed";
    return l;
  }
  l.ok = true;
  return l;
}

}  // namespace

const CurlApi* curl_api(std::string* error) {
  static const Loaded loaded = load();  // C++ guarantees one thread runs load()
  if (!loaded.ok) {
    if (error) *error = loaded.error;
    return nullptr;
  }
  return &loaded.api;
}

}  // namespace resetd::notify::detail
