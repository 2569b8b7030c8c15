#include <boost/test/unit_test.hpp>

#include "resetd/accounts/csv.h"

namespace csv = resetd::accounts::csv;
using Fields = std::vector<std::string>;
using namespace std::string_literals;

BOOST_AUTO_TEST_SUITE(Csv)

BOOST_AUTO_TEST_CASE(read_quotedFields_commasQuotesAndLineBreaksKept) {
  const auto t = csv::read("a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\"two\r\nlines\"\r\nlast,,\r\n");
  BOOST_TEST_REQUIRE(t.ok(), t.message);
  BOOST_TEST_REQUIRE(t.records.size() == 3u);
  BOOST_TEST((t.records[1].fields == Fields{"x, y", "say \"hi\"", "two\r\nlines"}));
  BOOST_TEST((t.records[2].fields == Fields{"last", "", ""}));
  // Rows as a spreadsheet counts them: the record after a two-line cell starts on line 4.
  BOOST_TEST(t.records[1].row == 2);
  BOOST_TEST(t.records[2].row == 4);
}

BOOST_AUTO_TEST_CASE(read_bomAndLineEnds_sameRecords) {
  const Fields want{"ayşe", "王小明"};
  for (const char* text : {"h1,h2\nayşe,王小明", "\xef\xbb\xbfh1,h2\r\nayşe,王小明\r\n", "h1,h2\rayşe,王小明\r"}) {
    const auto t = csv::read(text);
    BOOST_TEST_REQUIRE(t.ok(), t.message);
    BOOST_TEST_REQUIRE(t.records.size() == 2u);
    BOOST_TEST((t.records[0].fields == Fields{"h1", "h2"}));  // no BOM left on the first name
    BOOST_TEST((t.records[1].fields == want));
    BOOST_TEST(t.records[1].row == 2);
  }
}

BOOST_AUTO_TEST_CASE(read_blankLines_skippedButCounted) {
  const auto t = csv::read("h\n\nx\n\n");
  BOOST_TEST_REQUIRE(t.ok());
  BOOST_TEST_REQUIRE(t.records.size() == 2u);
  BOOST_TEST(t.records[1].row == 3);
}

BOOST_AUTO_TEST_CASE(read_semicolonOrTabHeader_usesThatDelimiter) {
  auto t = csv::read("username;display_name;email\nali;\"Yılmaz, Ali\";ali@example.org\n");
  BOOST_TEST_REQUIRE(t.ok());
  BOOST_TEST((t.records[1].fields == Fields{"ali", "Yılmaz, Ali", "ali@example.org"}));
  t = csv::read("a\tb\n1,5\t2\n");
  BOOST_TEST_REQUIRE(t.ok());
  BOOST_TEST((t.records[1].fields == Fields{"1,5", "2"}));
}

BOOST_AUTO_TEST_CASE(read_badText_codeAndRow) {
  struct Case {
    std::string text, code;
    int row;
  };
  for (const auto& c : std::vector<Case>{
           {"a,b\nx,\"open\n", "unterminated_quote", 2},
           {"a,b\nx,ab\"c\n", "stray_quote", 2},
           {"a,b\nx,\"ab\"c\n", "stray_quote", 2},
           {"a,b\nx,y\n\xff\xfe,z\n", "invalid_utf8", 3},
           {"\xff\xfe" "a\0,\0b\0"s, "invalid_utf8", 1},
           {"a,b\nx,y\0z\n"s, "invalid_utf8", 2},
           {"a,b\nx,y\nIlker,\xef\xbf\xbdl\n", "invalid_utf8", 3},
           {"", "csv_empty", 0},
           {"\n\r\n", "csv_empty", 0},
       }) {
    const auto t = csv::read(c.text);
    BOOST_TEST(!t.ok(), c.text);
    BOOST_TEST(t.code == c.code, c.text << ": " << t.code);
    BOOST_TEST(t.error_row == c.row, c.text);
    BOOST_TEST(t.records.empty());
  }
}

BOOST_AUTO_TEST_CASE(read_limits_refusedBeforeParsingAll) {
  csv::Limits lim;
  lim.max_bytes = 20;
  BOOST_TEST(csv::read(std::string(21, 'a'), lim).code == "csv_too_large");
  BOOST_TEST(csv::read(std::string(20, 'a'), lim).ok());
  lim = {};
  lim.max_records = 3;
  BOOST_TEST(csv::read("h\n1\n2\n", lim).ok());
  const auto t = csv::read("h\n1\n2\n3\n", lim);
  BOOST_TEST(t.code == "too_many_rows");
  BOOST_TEST(t.error_row == 0);
  lim = {};
  lim.max_field_bytes = 4;
  BOOST_TEST(csv::read("h\nabcd\n", lim).ok());
  BOOST_TEST(csv::read("h\nabcde\n", lim).code == "field_too_long");
  BOOST_TEST(csv::read("h\n\"ab\"\"cd\"\n", lim).code == "field_too_long");
}

BOOST_AUTO_TEST_CASE(field_formulaStart_guardedAndQuotedWhenNeeded) {
  BOOST_TEST(csv::field("=HYPERLINK(\"http://x\")") == "\"'=HYPERLINK(\"\"http://x\"\")\"");
  BOOST_TEST(csv::field("+1") == "'+1");
  BOOST_TEST(csv::field("-2") == "'-2");
  BOOST_TEST(csv::field("@SUM(A1)") == "'@SUM(A1)");
  BOOST_TEST(csv::field("\tx") == "'\tx");
  BOOST_TEST(csv::field("\rx") == "\"'\rx\"");
  BOOST_TEST(csv::field("a=b") == "a=b");
  BOOST_TEST(csv::field("Yılmaz, Ali") == "\"Yılmaz, Ali\"");
  BOOST_TEST(csv::field("") == "");
  BOOST_TEST(csv::line({"a", "b,c", ""}) == "a,\"b,c\",\r\n");
}

BOOST_AUTO_TEST_CASE(writeThenRead_unguarded_roundTrips) {
  const Fields values{"=1+2", "-dash", "@at", "+plus", "\ttab", "a,\"b\"\nc", "'quoted already", "王小明", "", "İzmir"};
  const auto t = csv::read(csv::line(values) + csv::line(values));
  BOOST_TEST_REQUIRE(t.ok(), t.message);
  BOOST_TEST_REQUIRE(t.records.size() == 2u);
  Fields back;
  for (const auto& f : t.records[1].fields) back.push_back(csv::unguard(f));
  BOOST_TEST((back == values));
}

// Excel in a comma-decimal locale (tr-TR) opens a .csv with ';' as the
// delimiter: "Ay;=HYPERLINK(...)" (a display name any user may give
// themselves) became a cell of its own starting with '=' in the admin's export.
BOOST_AUTO_TEST_CASE(field_formulaAfterSemicolonOrLineBreak_guarded) {
  BOOST_TEST(csv::field("Ay;=HYPERLINK(1)") == "Ay;'=HYPERLINK(1)");
  BOOST_TEST(csv::field("x;@SUM(1)") == "x;'@SUM(1)");
  BOOST_TEST(csv::field("a;b") == "a;b");
  BOOST_TEST(csv::field("a\n+1") == "\"a\n'+1\"");
  BOOST_TEST(csv::field("'=x") == "''=x");  // so unguard() gives "'=x" back, not "=x"
  for (std::string v : {"Ay;=1", "a;;-2", "p\n@x", "k;\t=1", "q;'=z", "''+9;''-9"}) {
    const std::string f = csv::field(v);
    for (size_t i = 0; i < f.size(); ++i)
      if (i == 0 || f[i - 1] == ';' || f[i - 1] == '\n' || f[i - 1] == '\r' || f[i - 1] == '\t')
        BOOST_TEST(std::string("=+-@").find(f[i]) == std::string::npos, v << " -> " << f);
  }
}

BOOST_AUTO_TEST_CASE(writeThenRead_semicolonPiecesAndQuotes_roundTrip) {
  const Fields values{"Ay;=1", "a;;-2", "p\n@x", "k;\t=1", "q;'=z", "'=x", "''+9;''-9", "x;'y", "';"};
  const auto t = csv::read(csv::line({"h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8", "h9"}) + csv::line(values));
  BOOST_TEST_REQUIRE(t.ok(), t.message);
  BOOST_TEST_REQUIRE(t.records.size() == 2u);
  Fields back;
  for (const auto& f : t.records[1].fields) back.push_back(csv::unguard(f));
  BOOST_TEST((back == values));
}

BOOST_AUTO_TEST_SUITE_END()
