// CSV as spreadsheets write and read it (RFC 4180): the reader behind "Add
// users from a CSV file" and the writer behind the user and audit exports.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace resetd::accounts::csv {

struct Record {
  int row = 0;  // the spreadsheet's row number: 1 is the first line of the file
  std::vector<std::string> fields;
};

// What read() found: the records, or the first error and the row it is on.
struct Table {
  std::vector<Record> records;
  std::string code;  // empty when the text was read
  std::string message;
  int error_row = 0;  // 0: the whole text (too large, too many rows, empty)
  bool ok() const { return code.empty(); }
};

struct Limits {
  size_t max_bytes = 60 * 1024;  // the text, BOM included
  size_t max_records = 101;      // the header row included
  size_t max_field_bytes = 1024;
};

// Reads UTF-8 text with or without a BOM, CRLF, LF or CR line ends, fields in
// double quotes ("" for a quote, line breaks allowed inside). The delimiter is
// the one the first line uses outside quotes: ',' unless that line has more
// ';' (Excel in tr-TR and other comma-decimal locales) or tabs. Empty lines
// count as rows but yield no record. A NUL or U+FFFD (a legacy code page
// decoded on the way) counts as invalid UTF-8. Error codes: csv_too_large,
// too_many_rows, invalid_utf8, unterminated_quote, stray_quote (a quote inside
// an unquoted field or text after a closing one), field_too_long, csv_empty.
Table read(std::string_view text, const Limits& limits = {});

// Undoes the spreadsheet guard of field(): one ' before = + - @ tab or CR (or
// before a run of ' and one of them) is dropped, at the start and after each
// ; tab or line break, so an exported file imports exactly as it was.
std::string unguard(std::string v);

// One field: cells a spreadsheet would run as a formula (starting with = + -
// @ tab or CR) get a leading ', and so does each piece after a ; tab or line
// break (Excel in tr-TR splits cells at ';'), as does a piece that is a run of
// ' before one of them (so unguard() is exact); a field with , " CR or LF is quoted.
std::string field(std::string_view v);
// The fields joined by ',' and ended by CRLF.
std::string line(const std::vector<std::string>& fields);

}  // namespace resetd::accounts::csv
