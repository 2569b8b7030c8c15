#include <boost/test/unit_test.hpp>

#include "resetd/accounts/text.h"

using namespace resetd::accounts;

BOOST_AUTO_TEST_SUITE(Text)

BOOST_AUTO_TEST_CASE(fold_turkishIVariants_allFoldToI) {
  BOOST_TEST(fold("İSTANBUL") == fold("istanbul"));
  BOOST_TEST(fold("ISTANBUL") == fold("ıstanbul"));
  BOOST_TEST(fold("İ") == "i");
  BOOST_TEST(fold("ı") == "i");
}

BOOST_AUTO_TEST_CASE(fold_otherLetters_caseFolded) {
  BOOST_TEST(fold("ŞEKER") == fold("şeker"));
  BOOST_TEST(fold("ÇÖĞÜ") == fold("çöğü"));
  BOOST_TEST(fold("王小明") == "王小明");
}

BOOST_AUTO_TEST_CASE(codepoints_multibyte_countedOnce) {
  BOOST_TEST(codepoints("密碼") == 2u);
  BOOST_TEST(codepoints("ğ") == 1u);
}

BOOST_AUTO_TEST_CASE(valid_username_rules) {
  BOOST_TEST(valid_username("a"));
  BOOST_TEST(valid_username("john.doe_2-x"));
  BOOST_TEST(!valid_username(""));
  BOOST_TEST(!valid_username(std::string(65, 'a')));
  BOOST_TEST(!valid_username("john doe"));
  BOOST_TEST(!valid_username("ayşe"));
  BOOST_TEST(valid_username(ascii_lower("John.Doe")));
}

BOOST_AUTO_TEST_CASE(words3_splitsOnNonLetters) {
  auto w = words3("Ayşe Yılmaz-Li");
  BOOST_TEST(w.size() == 2u);
  BOOST_TEST(w[0] == fold("ayşe"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(one_line_text_refusesBreaksControlsAndBidi) {
  BOOST_TEST(one_line_text("Caller's phone lost; manager Dana confirmed"));
  BOOST_TEST(one_line_text("Yıldız aradı — 經理確認 👍"));
  BOOST_TEST(one_line_text(""));
  for (const char* bad : {"a\nb", "a\rb", "a\tb", "a\x7f" "b", "a\xc2\x85" "b" /* NEL */, "a\xe2\x80\xa8" "b" /* LS */,
                          "a\xe2\x80\xa9" "b" /* PS */, "a\xe2\x80\xae" "b" /* RLO */, "a\xe2\x80\x8f" "b" /* RLM */,
                          "a\xe2\x81\xa6" "b" /* LRI */, "a\xff" "b"})
    BOOST_TEST(!one_line_text(bad), "accepted: " << bad);
}
