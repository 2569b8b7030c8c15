// RFC 5322 / MIME message building and RFC 2047 encoded words.
#include "resetd/notify/message.h"

#include <cstdio>
#include <ctime>
#include <string_view>

#include "text_util.h"

namespace resetd::notify {
namespace {

// Encoded words are cut at 39 bytes of UTF-8 (52 base64 chars, 64 chars per
// word) so that even the first one, after "Subject: ", keeps its line within
// the 76 characters RFC 2047 allows for lines holding encoded words.
constexpr size_t kMaxBytesPerWord = 39;

bool printable_ascii(std::string_view s) {
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// Length of the UTF-8 sequence starting with `lead`; a stray byte counts as one,
// so malformed input still makes progress and is never split mid-sequence.
size_t utf8_len(const std::string& s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t n = 1;
  if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
  } else if (c >= 0xE0) {
    n = 3;
  } else if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  }
  if (i + n > s.size()) return 1;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 1;
  }
  return n;
}

// Header values never carry line breaks of their own (header injection).
std::string no_breaks(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) out += (ch == '\r' || ch == '\n') ? ' ' : ch;
  return out;
}

std::string rfc5322_date(int64_t unix_s) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday % 7],
                tm.tm_mday, kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

// "Name <addr>" with the name encoded or quoted as needed; "addr" alone stays.
std::string from_header(const std::string& from) {
  std::string f = no_breaks(from);
  size_t lt = f.rfind('<');
  if (lt == std::string::npos) return bare_address(f);
  std::string name = f.substr(0, lt);
  size_t b = name.find_first_not_of(" \t\"");
  size_t e = name.find_last_not_of(" \t\"");
  name = (b == std::string::npos) ? std::string() : name.substr(b, e - b + 1);
  std::string addr = "<" + bare_address(f) + ">";
  if (name.empty()) return addr;
  if (!printable_ascii(name)) return encode_header_word(name) + " " + addr;
  bool needs_quotes = name.find_first_of("()<>[]:;@\\,.\"") != std::string::npos;
  if (!needs_quotes) return name + " " + addr;
  std::string q = "\"";
  for (char ch : name) {
    if (ch == '"' || ch == '\\') q += '\\';
    q += ch;
  }
  return q + "\" " + addr;
}

std::string crlf_lines(const std::string& text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32);
  for (size_t i = 0; i < text.size(); ++i) {
    char ch = text[i];
    if (ch == '\r') {
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
      out += "\r\n";
    } else if (ch == '\n') {
      out += "\r\n";
    } else {
      out += ch;
    }
  }
  return out;
}

}  // namespace

std::string encode_header_word(const std::string& utf8) {
  if (printable_ascii(utf8) && utf8.find("=?") == std::string::npos) return utf8;
  std::string out;
  size_t i = 0;
  while (i < utf8.size()) {
    size_t end = i;
    while (end < utf8.size()) {
      size_t n = utf8_len(utf8, end);
      if (end + n - i > kMaxBytesPerWord) break;
      end += n;
    }
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + detail::base64_encode(utf8.substr(i, end - i)) + "?=";
    i = end;
  }
  return out;
}

std::string build_message(const Envelope& e, const std::string& from) {
  std::string m;
  m += "Date: " + rfc5322_date(e.date) + "\r\n";
  m += "Message-ID: <" + no_breaks(e.message_id) + ">\r\n";
  m += "From: " + from_header(from) + "\r\n";
  m += "To: " + no_breaks(e.to) + "\r\n";
  m += "Subject: " + encode_header_word(e.subject) + "\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: text/plain; charset=UTF-8\r\n";
  m += "Content-Transfer-Encoding: base64\r\n";
  m += "Auto-Submitted: auto-generated\r\n";
  m += "\r\n";
  std::string b64 = detail::base64_encode(crlf_lines(e.body));
  for (size_t i = 0; i < b64.size(); i += 76) {
    m.append(b64, i, 76);
    m += "\r\n";
  }
  return m;
}

std::string bare_address(const std::string& from) {
  size_t lt = from.rfind('<');
  if (lt != std::string::npos) {
    size_t gt = from.find('>', lt);
    if (gt != std::string::npos) return from.substr(lt + 1, gt - lt - 1);
  }
  size_t b = from.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  size_t e = from.find_last_not_of(" \t");
  return from.substr(b, e - b + 1);
}

bool valid_address(const std::string& addr) {
  if (addr.empty() || addr.size() > 254) return false;
  size_t at = addr.find('@');
  if (at == std::string::npos || addr.find('@', at + 1) != std::string::npos) return false;
  std::string_view local(addr.data(), at);
  std::string_view domain(addr.data() + at + 1, addr.size() - at - 1);
  if (local.empty() || local.size() > 64 || domain.empty() || domain.size() > 253) return false;

  // Local part: RFC 5322 dot-atom, no quoted strings (no relay of ours needs them).
  static constexpr std::string_view kAtext = "!#$%&'*+-/=?^_`{|}~";
  if (local.front() == '.' || local.back() == '.') return false;
  for (size_t i = 0; i < local.size(); ++i) {
    char c = local[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (c == '.') {
      if (local[i + 1] == '.') return false;  // back() != '.', so i + 1 is in range
    } else if (!alnum && kAtext.find(c) == std::string_view::npos) {
      return false;
    }
  }

  // Domain: dot-separated labels of letters, digits and inner hyphens.
  size_t start = 0;
  while (start <= domain.size()) {
    size_t dot = domain.find('.', start);
    if (dot == std::string_view::npos) dot = domain.size();
    std::string_view label = domain.substr(start, dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      bool ok =
          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok) return false;
    }
    start = dot + 1;
  }
  return true;
}

}  // namespace resetd::notify
