// SmtpRelay: one SMTP transaction per message through libcurl. The relay's own
// reply lines are captured from the debug stream (CURLINFO_HEADER_IN only:
// the outgoing side carries AUTH credentials and is never looked at), so the
// admin sees e.g. "550 5.1.1 <x@y>: Recipient address rejected" instead of
// libcurl's "RCPT failed: 550".
#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "curl_global.h"
#include "relays.h"
#include "resetd/notify/message.h"
#include "text_util.h"

namespace resetd::notify::detail {
namespace {

struct Upload {
  const std::string* data;
  size_t off = 0;
};

size_t read_cb(char* buf, size_t size, size_t nitems, void* userp) {
  auto* u = static_cast<Upload*>(userp);
  size_t room = size * nitems;
  size_t n = std::min(room, u->data->size() - u->off);
  std::memcpy(buf, u->data->data() + u->off, n);
  u->off += n;
  return n;
}

struct Replies {
  std::string last;  // last reply line that is not the 221 to our QUIT
};

int debug_cb(CURL*, curl_infotype type, char* data, size_t size, void* userp) {
  if (type != CURLINFO_HEADER_IN) return 0;
  auto* r = static_cast<Replies*>(userp);
  std::string chunk(data, size);
  size_t start = 0;
  while (start < chunk.size()) {
    size_t nl = chunk.find('\n', start);
    size_t end = nl == std::string::npos ? chunk.size() : nl;
    std::string line = one_line(chunk.substr(start, end - start));
    // 221 only ever answers QUIT, which libcurl may send while closing; it
    // says nothing about the message.
    if (!line.empty() && line.rfind("221", 0) != 0) r->last = line;
    start = end + 1;
  }
  return 0;
}

int reply_code(const std::string& line) {
  if (line.size() < 3) return 0;
  int code = 0;
  for (size_t i = 0; i < 3; ++i) {
    if (line[i] < '0' || line[i] > '9') return 0;
    code = code * 10 + (line[i] - '0');
  }
  return code;
}

bool tls_verification_error(CURLcode rc) {
  return rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
         rc == CURLE_SSL_ISSUER_ERROR || rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH ||
         rc == CURLE_SSL_INVALIDCERTSTATUS;
}

class SmtpRelay final : public Relay {
 public:
  explicit SmtpRelay(RelayConfig c) : c_(std::move(c)) {}

  DeliveryResult deliver(const Envelope& e) override {
    if (!valid_address(e.to)) {
      return {Outcome::Permanent, "smtp: invalid recipient address"};
    }
    std::string load_error;
    const CurlApi* cu = curl_api(&load_error);
    if (cu == nullptr) return {Outcome::Temporary, "smtp: " + load_error};
    CURL* h = cu->easy_init();
    if (h == nullptr) return {Outcome::Temporary, "smtp: libcurl handle allocation failed"};

    const std::string message = build_message(e, c_.from);
    Upload up{&message};
    Replies replies;
    char errbuf[CURL_ERROR_SIZE] = {0};
    const std::string url = this->url();
    const std::string mail_from = "<" + bare_address(c_.from) + ">";
    curl_slist* rcpt = cu->slist_append(nullptr, ("<" + e.to + ">").c_str());

    cu->easy_setopt(h, CURLOPT_URL, url.c_str());
    cu->easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    cu->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    cu->easy_setopt(h, CURLOPT_CONNECTTIMEOUT, static_cast<long>(c_.timeout_s));
    cu->easy_setopt(h, CURLOPT_TIMEOUT, static_cast<long>(c_.timeout_s));
    cu->easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    cu->easy_setopt(h, CURLOPT_MAIL_FROM, mail_from.c_str());
    cu->easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    cu->easy_setopt(h, CURLOPT_UPLOAD, 1L);
    cu->easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
    cu->easy_setopt(h, CURLOPT_READDATA, &up);
    cu->easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.size()));
    // The debug callback only runs in verbose mode; it keeps nothing but
    // incoming reply lines, and nothing is printed.
    cu->easy_setopt(h, CURLOPT_VERBOSE, 1L);
    cu->easy_setopt(h, CURLOPT_DEBUGFUNCTION, debug_cb);
    cu->easy_setopt(h, CURLOPT_DEBUGDATA, &replies);
    if (c_.security == "starttls" || c_.security == "tls") {
      // Required, never CURLUSESSL_TRY: a relay that drops STARTTLS must not
      // get a password in clear text.
      cu->easy_setopt(h, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
    }
    if (!c_.ca_file.empty()) cu->easy_setopt(h, CURLOPT_CAINFO, c_.ca_file.c_str());
    if (!c_.username.empty()) {
      cu->easy_setopt(h, CURLOPT_USERNAME, c_.username.c_str());
      cu->easy_setopt(h, CURLOPT_PASSWORD, c_.password.c_str());
    }

    CURLcode rc = cu->easy_perform(h);
    // Copied before cleanup: closing the connection sends QUIT.
    const std::string last = replies.last;
    long curl_code = 0;
    cu->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &curl_code);
    cu->easy_cleanup(h);
    cu->slist_free_all(rcpt);
    return classify(rc, errbuf, last, static_cast<int>(curl_code));
  }

  std::string describe() const override {
    std::string d = "smtp " + host_port() + " " + c_.security;
    if (!c_.username.empty()) d += " auth";
    return d;
  }

 private:
  std::string host_port() const {
    bool v6 = c_.host.find(':') != std::string::npos && c_.host.front() != '[';
    return (v6 ? "[" + c_.host + "]" : c_.host) + ":" + std::to_string(c_.port);
  }

  std::string url() const {
    // The path is the name libcurl sends in EHLO.
    return (c_.security == "tls" ? "smtps://" : "smtp://") + host_port() + "/" + c_.helo_name;
  }

  static DeliveryResult classify(CURLcode rc, const char* errbuf, const std::string& last,
                                 int curl_code) {
    int code = reply_code(last);
    if (code == 0) code = curl_code;
    if (rc == CURLE_OK) {
      return {Outcome::Sent, last.empty() ? "250 (no reply text)" : last};
    }
    std::string err = one_line(errbuf[0] != '\0' ? errbuf : curl_api()->easy_strerror(rc));
    if (tls_verification_error(rc)) {
      return {Outcome::Temporary, "smtp: TLS certificate of the relay could not be verified (" +
                                      err + "); check ca_file and the relay's host name"};
    }
    if (rc == CURLE_USE_SSL_FAILED) {
      return {Outcome::Temporary,
              "smtp: the relay does not offer STARTTLS, which is required (" + err + ")"};
    }
    if (code >= 500 && code <= 599) return {Outcome::Permanent, last.empty() ? err : last};
    if (code >= 400 && code <= 499) return {Outcome::Temporary, last.empty() ? err : last};
    std::string answer = "smtp: " + err;
    if (!last.empty()) answer += " (last reply: " + last + ")";
    return {Outcome::Temporary, one_line(answer)};
  }

  RelayConfig c_;
};

}  // namespace

std::unique_ptr<Relay> make_smtp_relay(const RelayConfig& c) {
  return std::make_unique<SmtpRelay>(c);
}

}  // namespace resetd::notify::detail
