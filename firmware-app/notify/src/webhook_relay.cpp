// WebhookRelay: POSTs the message as JSON, signed so the receiver can check it
// came from this appliance and is fresh: X-Resetd-Signature is
// sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>.
#include <curl/curl.h>

#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>
#include <utility>

#include "curl_global.h"
#include "relays.h"
#include "resetd/common/clock.h"
#include "resetd/crypto/crypto.h"
#include "resetd/notify/message.h"
#include "text_util.h"

namespace resetd::notify::detail {
namespace {

size_t discard_cb(char*, size_t size, size_t nmemb, void*) {
  return size * nmemb;  // read and dropped
}

// A fixed phrase per status class, chosen by us, never the target's words.
const char* status_phrase(long status) {
  if (status >= 200 && status <= 299) return "(accepted by the webhook)";
  if (status == 408 || status == 429) return "(webhook busy, will retry)";
  if (status >= 500 && status <= 599) return "(webhook server error, will retry)";
  if (status >= 300 && status <= 399) return "(redirect refused, not followed)";
  if (status >= 400 && status <= 499) return "(refused by the webhook)";
  return "(unexpected status)";
}

class WebhookRelay final : public Relay {
 public:
  explicit WebhookRelay(RelayConfig c) : c_(std::move(c)) {}

  DeliveryResult deliver(const Envelope& e) override {
    if (!valid_address(e.to)) {
      return {Outcome::Permanent, "webhook: invalid recipient address"};
    }
    std::string load_error;
    const CurlApi* cu = curl_api(&load_error);
    if (cu == nullptr) return {Outcome::Temporary, "webhook: " + load_error};

    const std::string body =
        nlohmann::json{{"id", e.id},        {"kind", e.kind},
                       {"recipient", e.to}, {"subject", e.subject},
                       {"body", e.body},    {"created_at", rfc3339(e.created_at)}}
            .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    const std::string ts = std::to_string(static_cast<long long>(std::time(nullptr)));
    const std::string sig = crypto::hmac_sha256_hex(c_.secret, ts + "." + body);

    CURL* h = cu->easy_init();
    if (h == nullptr) return {Outcome::Temporary, "webhook: libcurl handle allocation failed"};
    curl_slist* headers = nullptr;
    headers = cu->slist_append(headers, "Content-Type: application/json");
    headers = cu->slist_append(headers, ("X-Resetd-Timestamp: " + ts).c_str());
    headers = cu->slist_append(headers, ("X-Resetd-Signature: sha256=" + sig).c_str());
    headers = cu->slist_append(headers, "Expect:");  // no 100-continue round trip
    char errbuf[CURL_ERROR_SIZE] = {0};

    cu->easy_setopt(h, CURLOPT_URL, c_.url.c_str());
    cu->easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    cu->easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    cu->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    cu->easy_setopt(h, CURLOPT_CONNECTTIMEOUT, static_cast<long>(c_.timeout_s));
    cu->easy_setopt(h, CURLOPT_TIMEOUT, static_cast<long>(c_.timeout_s));
    cu->easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    cu->easy_setopt(h, CURLOPT_POST, 1L);
    cu->easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
    cu->easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    cu->easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    cu->easy_setopt(h, CURLOPT_USERAGENT, "resetd");
    cu->easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_cb);
    if (!c_.ca_file.empty()) cu->easy_setopt(h, CURLOPT_CAINFO, c_.ca_file.c_str());

    CURLcode rc = cu->easy_perform(h);
    long status = 0;
    cu->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    cu->easy_cleanup(h);
    cu->slist_free_all(headers);

    if (rc != CURLE_OK) {
      std::string err = one_line(errbuf[0] != '\0' ? errbuf : curl_api()->easy_strerror(rc));
      return {Outcome::Temporary, "webhook: " + err};
    }
    // The target's body is never kept: the URL may point anywhere on the
    // site network, and the answer is shown in the UI and stored in the
    // outbox and audit. Status code and a fixed phrase only.
    const std::string answer = "HTTP " + std::to_string(status) + " " + status_phrase(status);
    if (status >= 200 && status <= 299) return {Outcome::Sent, answer};
    if (status == 408 || status == 429 || (status >= 500 && status <= 599)) {
      return {Outcome::Temporary, answer};
    }
    return {Outcome::Permanent, answer};
  }

  // Without the query: some receivers take a token there.
  std::string describe() const override {
    return "webhook " + c_.url.substr(0, c_.url.find_first_of("?#"));
  }

 private:
  RelayConfig c_;
};

}  // namespace

std::unique_ptr<Relay> make_webhook_relay(const RelayConfig& c) {
  return std::make_unique<WebhookRelay>(c);
}

}  // namespace resetd::notify::detail
