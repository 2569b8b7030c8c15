// libcurl, loaded on first use: only the SMTP and webhook relays need it, and
// linking it made every resetd carry libcurl and its ~30 libraries (≈4 MB of
// RSS) even with the file relay. curl.h gives the types; the functions come
// from dlopen("libcurl.so.4"). Thread-safe.
#pragma once

#include <curl/curl.h>

#include <string>

namespace resetd::notify::detail {

struct CurlApi {
  decltype(&::curl_easy_init) easy_init;
  decltype(&::curl_easy_setopt) easy_setopt;
  decltype(&::curl_easy_perform) easy_perform;
  decltype(&::curl_easy_getinfo) easy_getinfo;
  decltype(&::curl_easy_cleanup) easy_cleanup;
  decltype(&::curl_easy_strerror) easy_strerror;
  decltype(&::curl_slist_append) slist_append;
  decltype(&::curl_slist_free_all) slist_free_all;
};

// Loads libcurl and runs curl_global_init exactly once (it is not
// thread-safe in 7.88), on the first call. nullptr when that failed, with
// the reason (e.g. the library is not installed) in *error.
const CurlApi* curl_api(std::string* error = nullptr);

}  // namespace resetd::notify::detail
