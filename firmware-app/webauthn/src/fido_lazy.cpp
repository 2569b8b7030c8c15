// See fido_lazy.h.
#include "fido_lazy.h"

#include <dlfcn.h>

namespace resetd::webauthn::detail {
namespace {

struct Loaded {
  FidoApi api{};
  bool ok = false;
  std::string error;
};

Loaded load() {
  Loaded l;
  void* lib = ::dlopen("libfido2.so.1", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* e = ::dlerror();
    l.error = std::string("libfido2 could not be loaded (install libfido2-1): ") + (e ? e : "unknown error");
    return l;
  }
  bool all = true;
#define RESETD_FIDO_RESOLVE(name) \
  all = all && (l.api.name = reinterpret_cast<decltype(&::name)>(::dlsym(lib, #name))) != nullptr;
  RESETD_FIDO_FUNCTIONS(RESETD_FIDO_RESOLVE)
#undef RESETD_FIDO_RESOLVE
  if (!all) {
    l.error = "libfido2.so.1 lacks a function resetd needs";
    return l;  // the library stays loaded: harmless, and never retried
  }
  l.ok = true;
  return l;
}

}  // namespace

const FidoApi* fido_api(std::string* error) {
  static const Loaded loaded = load();  // C++ guarantees one thread runs load()
  if (!loaded.ok) {
    if (error) *error = loaded.error;
    return nullptr;
  }
  return &loaded.api;
}

}  // namespace resetd::webauthn::detail
