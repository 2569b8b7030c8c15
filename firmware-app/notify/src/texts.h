// Internal to notify: one mail kind's subject and body per locale, as the
// tables of templates.cpp and caller_texts.cpp hold them.
#pragma once

#include <span>

namespace resetd::notify {

struct Text {
  const char* subject;
  const char* body;
};

struct KindTexts {
  const char* kind;
  Text en;
  Text zh_tw;
  Text tr_tr;
};

// caller_code, caller_override, caller_override_bulk (caller_texts.cpp).
std::span<const KindTexts> caller_texts();

}  // namespace resetd::notify
