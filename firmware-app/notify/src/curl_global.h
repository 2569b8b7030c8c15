// curl_global_init is not thread-safe in libcurl 7.88; run it exactly once
// before the first easy handle, whichever relay comes first.
#pragma once

#include <curl/curl.h>

namespace resetd::notify::detail {

inline bool curl_ready() {
  static const bool ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  return ok;
}

}  // namespace resetd::notify::detail
