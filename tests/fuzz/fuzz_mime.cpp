// libFuzzer target: notify's message building (RFC 5322 / MIME, RFC 2047).
// Invariants checked, not just "no crash":
// - encode_header_word() output is ASCII, its only CR/LF are "CRLF SP" folds,
//   every encoded word is <= 75 chars, and decoding the words gives the input
//   back for valid UTF-8 (no lost or split characters);
// - build_message() never lets a CR or LF from subject/to/from start a new
//   header (no header injection), and its header block ends in CRLF CRLF.
#include <cstdint>
#include <cstdlib>
#include <string>

#include <fuzzer/FuzzedDataProvider.h>

#include "resetd/accounts/text.h"
#include "resetd/notify/message.h"

using namespace resetd;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

int b64v(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::string b64decode(const std::string& s) {
  std::string out;
  int val = 0, bits = -8;
  for (char c : s) {
    if (c == '=') break;
    int v = b64v(c);
    check(v >= 0);
    val = (val << 6) + v;
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xFF));
      bits -= 8;
    }
  }
  return out;
}

// Decodes "=?UTF-8?B?...?=" words separated by CRLF SP folds.
std::string decode_words(const std::string& v) {
  std::string out;
  size_t i = 0;
  while (i < v.size()) {
    if (v.compare(i, 3, "\r\n ") == 0) {
      i += 3;
      continue;
    }
    if (v[i] == ' ') {
      ++i;
      continue;
    }
    check(v.compare(i, 10, "=?UTF-8?B?") == 0);
    size_t e = v.find("?=", i + 10);
    check(e != std::string::npos);
    check(e + 2 - i <= 75);
    out += b64decode(v.substr(i + 10, e - i - 10));
    i = e + 2;
  }
  return out;
}

void check_no_bare_newlines(const std::string& v) {
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\r') check(i + 2 < v.size() && v[i + 1] == '\n' && (v[i + 2] == ' ' || v[i + 2] == '\t'));
    if (v[i] == '\n') check(i > 0 && v[i - 1] == '\r');
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  const std::string subject = fdp.ConsumeRandomLengthString(300);
  const std::string to = fdp.ConsumeRandomLengthString(80);
  const std::string from = fdp.ConsumeRandomLengthString(80);
  const std::string body = fdp.ConsumeRemainingBytesAsString();

  const std::string w = notify::encode_header_word(subject);
  for (unsigned char ch : w) check(ch < 0x80);
  check_no_bare_newlines(w);
  const bool printable_ascii = [&] {
    for (unsigned char ch : subject)
      if (ch < 0x20 || ch >= 0x7f) return false;
    return true;
  }();
  if (!printable_ascii && accounts::valid_utf8(subject)) check(decode_words(w) == subject);

  (void)notify::bare_address(from);
  if (notify::valid_address(to)) {
    check(to.size() <= 254 && to.find_first_of("\r\n") == std::string::npos);
  }

  notify::Envelope e;
  e.id = 7;
  e.kind = "reset";
  e.to = to;
  e.subject = subject;
  e.body = body;
  e.message_id = "7.fuzz@appliance.local";
  e.created_at = 1700000000;
  e.date = 1700000000;
  const std::string msg = notify::build_message(e, from);
  const size_t end = msg.find("\r\n\r\n");
  check(end != std::string::npos);
  const std::string head = msg.substr(0, end + 2);
  // Each header line starts with a known name or is a fold (SP/HT).
  static const char* const kNames[] = {"Date:", "Message-ID:", "From:", "To:", "Subject:",
                                       "MIME-Version:", "Content-Type:",
                                       "Content-Transfer-Encoding:", "Auto-Submitted:"};
  size_t pos = 0;
  while (pos < head.size()) {
    size_t nl = head.find("\r\n", pos);
    check(nl != std::string::npos);
    const std::string line = head.substr(pos, nl - pos);
    check(line.find_first_of("\r\n") == std::string::npos);
    bool ok = !line.empty() && (line[0] == ' ' || line[0] == '\t');
    for (const char* n : kNames) ok = ok || line.rfind(n, 0) == 0;
    check(ok);
    pos = nl + 2;
  }
  return 0;
}
