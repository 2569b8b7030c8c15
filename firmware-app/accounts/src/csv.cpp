// RFC 4180 CSV: the reader for user imports, the writer for exports.
#include "resetd/accounts/csv.h"

#include "resetd/accounts/text.h"

namespace resetd::accounts::csv {

namespace {

bool is_guarded(char c) { return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r'; }

// Where a spreadsheet may start a new cell inside ours: Excel in a
// comma-decimal locale (tr-TR, de-DE) opens a .csv with ';' as the delimiter,
// whatever the quoting, and a line break may end its row. Each such piece is
// guarded like the cell's start.
bool splits_cell(char c) { return c == ';' || c == '\t' || c == '\r' || c == '\n'; }

// The piece starting at i is a formula, or a guarded one: any run of ' then = + - @ tab or CR.
bool guarded_piece(std::string_view v, size_t i) {
  while (i < v.size() && v[i] == '\'') ++i;
  return i < v.size() && is_guarded(v[i]);
}

// The delimiter the first line uses outside quotes.
char detect_delimiter(std::string_view s) {
  size_t comma = 0, semi = 0, tab = 0;
  bool quoted = false;
  for (char c : s) {
    if (c == '"') quoted = !quoted;
    else if (!quoted && (c == '\r' || c == '\n')) break;
    else if (!quoted && c == ',') ++comma;
    else if (!quoted && c == ';') ++semi;
    else if (!quoted && c == '\t') ++tab;
  }
  if (semi > comma && semi >= tab) return ';';
  if (tab > comma && tab > semi) return '\t';
  return ',';
}

Table failed(std::string code, std::string message, int row) {
  Table t;
  t.code = std::move(code);
  t.message = std::move(message);
  t.error_row = row;
  return t;
}

}  // namespace

Table read(std::string_view s, const Limits& limits) {
  if (s.size() > limits.max_bytes)
    return failed("csv_too_large", "The file is larger than " + std::to_string(limits.max_bytes / 1024) + " KiB.", 0);
  if (s.size() >= 2 && ((s[0] == '\xff' && s[1] == '\xfe') || (s[0] == '\xfe' && s[1] == '\xff')))
    return failed("invalid_utf8", "The file is UTF-16 text; save it as \"CSV UTF-8\".", 1);
  if (s.substr(0, 3) == "\xef\xbb\xbf") s.remove_prefix(3);
  const char delim = detect_delimiter(s);

  enum class St { Start, Plain, Quoted, AfterQuote } st = St::Start;
  Table t;
  std::vector<std::string> fields;
  std::string cur;
  int row = 1;         // the line being read
  int record_row = 1;  // the line the current record started on
  bool blank = true;   // nothing of the current record read yet

  auto end_field = [&] {
    fields.push_back(std::move(cur));
    cur.clear();
  };
  auto end_record = [&]() -> bool {
    if (!blank) {
      end_field();
      for (const auto& f : fields)
        // U+FFFD: text that was decoded from another code page on its way here.
        if (!valid_utf8(f) || f.find('\0') != std::string::npos || f.find("\xef\xbf\xbd") != std::string::npos) {
          t = failed("invalid_utf8", "Row " + std::to_string(record_row) +
                                         " is not UTF-8 text; save the file as \"CSV UTF-8\".", record_row);
          return false;
        }
      t.records.push_back({record_row, std::move(fields)});
      if (t.records.size() > limits.max_records) {
        t = failed("too_many_rows", "At most " + std::to_string(limits.max_records - 1) +
                                        " users at once (the header row and " +
                                        std::to_string(limits.max_records - 1) + " rows).", 0);
        return false;
      }
    }
    fields.clear();
    cur.clear();
    blank = true;
    st = St::Start;
    return true;
  };
  auto append = [&](char c) -> bool {
    cur += c;
    if (cur.size() > limits.max_field_bytes) {
      t = failed("field_too_long", "Row " + std::to_string(record_row) + " has a field longer than " +
                                       std::to_string(limits.max_field_bytes) + " bytes.", record_row);
      return false;
    }
    return true;
  };

  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool nl = c == '\n' || c == '\r';
    if (nl && c == '\r' && i + 1 < s.size() && s[i + 1] == '\n' && st != St::Quoted) ++i;  // CRLF: one line end
    if (st == St::Quoted) {
      if (c == '"') {
        if (i + 1 < s.size() && s[i + 1] == '"') {
          if (!append('"')) return t;
          ++i;
        } else {
          st = St::AfterQuote;
        }
        continue;
      }
      if (!append(c)) return t;
      if (c == '\n' || (c == '\r' && !(i + 1 < s.size() && s[i + 1] == '\n'))) ++row;
      continue;
    }
    if (nl) {
      if (!end_record()) return t;
      record_row = ++row;
      continue;
    }
    if (st == St::AfterQuote && c != delim)
      return failed("stray_quote", "Row " + std::to_string(record_row) +
                                       ": text after a closing quote; a quote inside a field is written \"\".",
                    record_row);
    blank = false;
    if (c == delim) {
      end_field();
      st = St::Start;
    } else if (c == '"') {
      if (st != St::Start)
        return failed("stray_quote", "Row " + std::to_string(record_row) +
                                         ": a quote inside a field that does not start with one.",
                      record_row);
      st = St::Quoted;
    } else {
      if (!append(c)) return t;
      st = St::Plain;
    }
  }
  if (st == St::Quoted)
    return failed("unterminated_quote", "Row " + std::to_string(record_row) + ": a quoted field is not closed.",
                  record_row);
  if (!end_record()) return t;
  if (t.records.empty()) return failed("csv_empty", "The file has no rows.", 0);
  return t;
}

std::string unguard(std::string v) {
  std::string out;
  out.reserve(v.size());
  bool start = true;
  for (size_t i = 0; i < v.size(); ++i) {
    if (start && v[i] == '\'' && guarded_piece(v, i)) {
      start = false;  // the one ' guard() put there
      continue;
    }
    out += v[i];
    start = splits_cell(v[i]);
  }
  return out;
}

std::string field(std::string_view v) {
  std::string out;
  bool start = true;
  for (size_t i = 0; i < v.size(); ++i) {
    if (start && guarded_piece(v, i)) out += '\'';
    out += v[i];
    start = splits_cell(v[i]);
  }
  if (out.find_first_of(",\"\r\n") == std::string::npos) return out;
  std::string q = "\"";
  for (char ch : out) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}

std::string line(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) out += ',';
    out += field(fields[i]);
  }
  return out + "\r\n";
}

}  // namespace resetd::accounts::csv
