// See ldap_lazy.h.
#include "ldap_lazy.h"

#include <dlfcn.h>

#include <string>

namespace resetd::directory::lazy {
namespace {

struct Loaded {
  void* lib = nullptr;
  std::string error;
};

const Loaded& loaded() {
  static const Loaded l = [] {
    Loaded r;
    r.lib = ::dlopen("libldap-2.5.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!r.lib) {
      const char* e = ::dlerror();
      r.error = std::string("libldap could not be loaded (install libldap-2.5-0): ") + (e ? e : "unknown error");
    }
    return r;
  }();
  return l;
}

}  // namespace

void* symbol(const char* name) {
  const Loaded& l = loaded();
  return l.lib ? ::dlsym(l.lib, name) : nullptr;
}

const char* load_error() {
  const Loaded& l = loaded();
  return l.error.empty() ? "libldap lacks a function resetd needs" : l.error.c_str();
}

}  // namespace resetd::directory::lazy
