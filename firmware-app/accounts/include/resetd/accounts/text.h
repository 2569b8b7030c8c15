// Unicode text rules (libutf8proc): NFC, code point counts, and the folding
// used for case-insensitive matching, where Turkish i, İ, ı and I count as
// one letter. Pure functions, thread-safe.
#pragma once

#include <string>
#include <vector>

namespace resetd::accounts {

bool valid_utf8(const std::string& s);
// Valid UTF-8 that shows as one line, as written: no control character (C0, DEL,
// C1 such as U+0085), no line or paragraph separator (U+2028, U+2029), no
// bidirectional control (U+200E/F, U+202A–E, U+2066–9) that could reorder what
// a reader of the audit or a mail sees.
bool one_line_text(const std::string& s);
// NFC of valid UTF-8 (returns the input unchanged when invalid).
std::string nfc(const std::string& s);
size_t codepoints(const std::string& s);
// Case-folded NFC with every Turkish i-variant mapped to "i".
std::string fold(const std::string& s);
// Runs of 3+ letters (Unicode letter categories) of `s`, folded.
std::vector<std::string> words3(const std::string& s);
// Usernames: 1–64 of a-z 0-9 . _ - after lowercasing ASCII.
bool valid_username(const std::string& lowered);
std::string ascii_lower(std::string s);

}  // namespace resetd::accounts
