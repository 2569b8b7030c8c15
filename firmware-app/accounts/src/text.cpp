#include "resetd/accounts/text.h"

#include <utf8proc.h>

#include <cstdlib>

namespace resetd::accounts {
namespace {

std::vector<utf8proc_int32_t> decode(const std::string& s) {
  std::vector<utf8proc_int32_t> out;
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  utf8proc_ssize_t left = static_cast<utf8proc_ssize_t>(s.size());
  while (left > 0) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t n = utf8proc_iterate(p, left, &cp);
    if (n <= 0) return {};
    out.push_back(cp);
    p += n;
    left -= n;
  }
  return out;
}

void encode(utf8proc_int32_t cp, std::string& out) {
  utf8proc_uint8_t buf[4];
  utf8proc_ssize_t n = utf8proc_encode_char(cp, buf);
  out.append(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
}

}  // namespace

bool one_line_text(const std::string& s) {
  if (!valid_utf8(s)) return false;
  for (utf8proc_int32_t cp : decode(s)) {
    const auto cat = utf8proc_category(cp);
    if (cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_ZL || cat == UTF8PROC_CATEGORY_ZP) return false;
    if (cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069))
      return false;
  }
  return true;
}

bool valid_utf8(const std::string& s) {
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  utf8proc_ssize_t left = static_cast<utf8proc_ssize_t>(s.size());
  while (left > 0) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t n = utf8proc_iterate(p, left, &cp);
    if (n <= 0) return false;
    p += n;
    left -= n;
  }
  return true;
}

std::string nfc(const std::string& s) {
  if (!valid_utf8(s)) return s;
  utf8proc_uint8_t* out = utf8proc_NFC(reinterpret_cast<const utf8proc_uint8_t*>(s.c_str()));
  if (!out) return s;
  std::string r(reinterpret_cast<char*>(out));
  std::free(out);
  return r;
}

size_t codepoints(const std::string& s) { return decode(s).size(); }

std::string fold(const std::string& s) {
  std::string out;
  for (utf8proc_int32_t cp : decode(nfc(s))) {
    // İ (U+0130), ı (U+0131), I, i: one letter for matching.
    if (cp == 0x130 || cp == 0x131 || cp == 'I') {
      out.push_back('i');
      continue;
    }
    utf8proc_int32_t buf[8];
    int opts = UTF8PROC_CASEFOLD | UTF8PROC_COMPOSE;
    utf8proc_ssize_t n = utf8proc_decompose_char(cp, buf, 8, static_cast<utf8proc_option_t>(opts), nullptr);
    if (n <= 0) {
      encode(cp, out);
      continue;
    }
    for (utf8proc_ssize_t i = 0; i < n; ++i) {
      // combining dot above left behind by folding İ elsewhere: drop
      if (buf[i] == 0x307) continue;
      encode(buf[i], out);
    }
  }
  return nfc(out);
}

std::vector<std::string> words3(const std::string& s) {
  std::vector<std::string> words;
  std::string cur;
  size_t letters = 0;
  auto flush = [&] {
    if (letters >= 3) words.push_back(fold(cur));
    cur.clear();
    letters = 0;
  };
  for (utf8proc_int32_t cp : decode(nfc(s))) {
    utf8proc_category_t c = utf8proc_category(cp);
    bool letter = c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL ||
                  c == UTF8PROC_CATEGORY_LT || c == UTF8PROC_CATEGORY_LM ||
                  c == UTF8PROC_CATEGORY_LO;
    if (letter) {
      encode(cp, cur);
      ++letters;
    } else {
      flush();
    }
  }
  flush();
  return words;
}

bool valid_username(const std::string& u) {
  if (u.empty() || u.size() > 64) return false;
  for (char c : u)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      return false;
  return true;
}

std::string ascii_lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

}  // namespace resetd::accounts
