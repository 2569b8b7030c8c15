#include "resetd/notify/message.h"

#include <boost/test/unit_test.hpp>

#include "test_support.h"

using namespace resetd::notify;
using namespace notify_test;

namespace {

void check_words_roundtrip(const std::string& subject) {
  std::string encoded = encode_header_word(subject);
  std::vector<std::string> words;
  BOOST_TEST(decode_rfc2047(encoded, &words) == subject);
  BOOST_TEST(!words.empty());
  for (const auto& w : words) {
    BOOST_TEST(w.size() <= 75u, "encoded word longer than 75: " << w);
    // Each word on its own must decode to whole UTF-8 characters.
    BOOST_TEST(valid_utf8(decode_rfc2047(w, nullptr)), "word splits a character: " << w);
  }
  // "Subject: " plus any line stays within RFC 2047's 76 characters.
  std::string with_name = "Subject: " + encoded;
  size_t start = 0;
  while (start < with_name.size()) {
    size_t eol = with_name.find("\r\n", start);
    if (eol == std::string::npos) eol = with_name.size();
    BOOST_TEST(eol - start <= 76u);
    start = eol + 2;
  }
}

Envelope sample() {
  Envelope e;
  e.id = 7;
  e.kind = "password";
  e.to = "ayse@example.org";
  e.subject = "Yeni parolanız";
  e.body = "Merhaba Ayşe,\n\nGeçici parola: çĞıİöŞü-密碼\nSatır üç\n";
  e.message_id = "7.abc@appliance.local";
  e.created_at = 1'800'000'000;
  e.date = 1'800'000'000;  // Fri, 15 Jan 2027 08:00:00 +0000
  return e;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(encode_header_word_)

BOOST_AUTO_TEST_CASE(encode_header_word_plain_ascii_is_unchanged) {
  BOOST_TEST(encode_header_word("Your new password") == "Your new password");
}

BOOST_AUTO_TEST_CASE(encode_header_word_zh_tw_subject_decodes_back) {
  check_words_roundtrip("您的新密碼");
  BOOST_TEST(encode_header_word("您的新密碼") != "您的新密碼");
}

BOOST_AUTO_TEST_CASE(encode_header_word_tr_tr_subject_decodes_back) {
  check_words_roundtrip("Yeni parolanız");
  check_words_roundtrip("İŞĞÜÖÇ ışğüöç ı İ");
}

BOOST_AUTO_TEST_CASE(encode_header_word_long_value_splits_on_character_boundaries) {
  std::string zh;
  for (int i = 0; i < 40; ++i) zh += "密碼";  // 240 bytes, 3-byte characters
  std::vector<std::string> words;
  BOOST_TEST(decode_rfc2047(encode_header_word(zh), &words) == zh);
  BOOST_TEST(words.size() > 1u);
  check_words_roundtrip(zh);
  std::string mixed;
  for (int i = 0; i < 30; ++i) mixed += "aı😀";  // 1-, 2- and 4-byte characters
  check_words_roundtrip(mixed);
}

BOOST_AUTO_TEST_CASE(encode_header_word_line_break_is_encoded_not_passed_through) {
  std::string encoded = encode_header_word("Hi\r\nBcc: x@evil.example");
  BOOST_TEST(encoded.find("\r\nBcc") == std::string::npos);
  BOOST_TEST(decode_rfc2047(encoded, nullptr) == "Hi\r\nBcc: x@evil.example");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(build_message_)

BOOST_AUTO_TEST_CASE(build_message_any_input_uses_crlf_line_ends_only) {
  std::string m = build_message(sample(), "IT Helpdesk <it@appliance.local>");
  for (size_t i = 0; i < m.size(); ++i) {
    if (m[i] == '\n') BOOST_TEST_REQUIRE((i > 0 && m[i - 1] == '\r'), "bare LF at " << i);
    if (m[i] == '\r') BOOST_TEST_REQUIRE((i + 1 < m.size() && m[i + 1] == '\n'), "bare CR");
  }
  BOOST_TEST(m.substr(m.size() - 2) == "\r\n");
}

BOOST_AUTO_TEST_CASE(build_message_required_headers_are_present_once) {
  ParsedMessage p = parse_message(build_message(sample(), "IT Helpdesk <it@appliance.local>"));
  for (const char* h : {"Date", "Message-ID", "From", "To", "Subject", "MIME-Version",
                        "Content-Type", "Content-Transfer-Encoding", "Auto-Submitted"}) {
    BOOST_TEST(p.count(h) == 1, "header " << h);
  }
  BOOST_TEST(p.header("Date") == "Fri, 15 Jan 2027 08:00:00 +0000");
  BOOST_TEST(p.header("Message-ID") == "<7.abc@appliance.local>");
  BOOST_TEST(p.header("From") == "IT Helpdesk <it@appliance.local>");
  BOOST_TEST(p.header("To") == "ayse@example.org");
  BOOST_TEST(p.header("MIME-Version") == "1.0");
  BOOST_TEST(p.header("Content-Type") == "text/plain; charset=UTF-8");
  BOOST_TEST(p.header("Content-Transfer-Encoding") == "base64");
  BOOST_TEST(decode_rfc2047(p.header("Subject"), nullptr) == "Yeni parolanız");
}

BOOST_AUTO_TEST_CASE(build_message_base64_body_decodes_to_the_utf8_text) {
  Envelope e = sample();
  ParsedMessage p = parse_message(build_message(e, "it@appliance.local"));
  size_t start = 0;
  while (start < p.body.size()) {
    size_t eol = p.body.find("\r\n", start);
    BOOST_TEST_REQUIRE(eol != std::string::npos);
    BOOST_TEST(eol - start <= 76u);
    start = eol + 2;
  }
  std::string expected = "Merhaba Ayşe,\r\n\r\nGeçici parola: çĞıİöŞü-密碼\r\nSatır üç\r\n";
  BOOST_TEST(base64_decode(p.body) == expected);
}

BOOST_AUTO_TEST_CASE(build_message_long_body_wraps_at_76) {
  Envelope e = sample();
  e.body = std::string(500, 'x');
  ParsedMessage p = parse_message(build_message(e, "it@appliance.local"));
  BOOST_TEST(p.body.find("\r\n") == 76u);
  BOOST_TEST(base64_decode(p.body) == e.body);
}

BOOST_AUTO_TEST_CASE(build_message_non_ascii_display_name_is_encoded) {
  ParsedMessage p = parse_message(build_message(sample(), "BT Masası İş <it@appliance.local>"));
  std::string from = p.header("From");
  size_t lt = from.rfind(" <");
  BOOST_TEST_REQUIRE(lt != std::string::npos);
  BOOST_TEST(decode_rfc2047(from.substr(0, lt), nullptr) == "BT Masası İş");
  BOOST_TEST(from.substr(lt + 1) == "<it@appliance.local>");
}

BOOST_AUTO_TEST_CASE(build_message_recipient_with_line_break_cannot_add_headers) {
  Envelope e = sample();
  e.to = "a@example.org\r\nBcc: b@example.org";
  ParsedMessage p = parse_message(build_message(e, "it@appliance.local"));
  BOOST_TEST(p.count("Bcc") == 0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(addresses)

BOOST_AUTO_TEST_CASE(bare_address_display_form_returns_address) {
  BOOST_TEST(bare_address("IT Helpdesk <it-helpdesk@appliance.local>") ==
             "it-helpdesk@appliance.local");
  BOOST_TEST(bare_address("  it@x.org ") == "it@x.org");
}

BOOST_AUTO_TEST_CASE(valid_address_ordinary_addresses_are_accepted) {
  for (const char* a : {"a@b.c", "first.last+tag@example.org", "o'brien@example.co.uk",
                        "root@localhost", "x_y-z@sub-domain.example"}) {
    BOOST_TEST(valid_address(a), a);
  }
}

BOOST_AUTO_TEST_CASE(valid_address_malformed_addresses_are_refused) {
  std::string label(60, 'b');
  // Every part valid on its own; only the total (312) is over 254.
  std::string too_long =
      std::string(64, 'a') + "@" + label + "." + label + "." + label + "." + label + ".org";
  for (const std::string& a : {std::string(""),
                               std::string("plain"),
                               std::string("@example.org"),
                               std::string("a@"),
                               std::string("a@@b.org"),
                               std::string("a@b@c.org"),
                               std::string("a b@c.org"),
                               std::string("a@b.org\r\nBcc: c@d.org"),
                               std::string("a@b.org\n"),
                               std::string("a,b@c.org"),
                               std::string("a@b.org,c@d.org"),
                               std::string("<a@b.org>"),
                               std::string("A <a@b.org>"),
                               std::string(".a@b.org"),
                               std::string("a.@b.org"),
                               std::string("a..b@c.org"),
                               std::string("a@-b.org"),
                               std::string("a@b..org"),
                               std::string("a@b.org."),
                               std::string("a\"b@c.org"),
                               std::string("ü@b.org"),
                               too_long}) {
    BOOST_TEST(!valid_address(a), "accepted: " << a);
  }
}

BOOST_AUTO_TEST_SUITE_END()
