// RFC 5424 formatting of an audit row (the contract is in syslog.h).
#include <time.h>

#include <map>
#include <vector>

#include "resetd/auditlog/syslog.h"

namespace resetd::auditlog {
namespace {

// Room for each parameter value, escaped. With the longest header (host 255,
// app 48, MSGID 32: 387 bytes) and the SD-ID and names (~80) the message stays
// under kMaxMessage with room for a short MSG; the MSG is cut to fit the rest.
constexpr size_t kActorMax = 128, kActionMax = 64, kTargetMax = 256, kClientMax = 64,
                 kOutcomeMax = 32, kDetailMax = 768, kMsgPartMax = 96;

// Length of the valid UTF-8 sequence starting at s[i], 0 when it is not one.
size_t utf8_len(const std::string& s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  size_t n = 0;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c >= 0xE0 && c <= 0xEF) n = 3;
  else if (c >= 0xF0 && c <= 0xF4) n = 4;
  else return 0;
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((b(i + k) & 0xC0) != 0x80) return 0;
  if (c == 0xE0 && b(i + 1) < 0xA0) return 0;   // overlong
  if (c == 0xED && b(i + 1) >= 0xA0) return 0;  // surrogate
  if (c == 0xF0 && b(i + 1) < 0x90) return 0;   // overlong
  if (c == 0xF4 && b(i + 1) >= 0x90) return 0;  // past U+10FFFF
  return n;
}

// `v` as UTF-8 text of at most `max` bytes: control characters and invalid
// bytes become '?', `escape` characters get a backslash (RFC 5424 §6.3.3), and
// a value that does not fit is cut at a character boundary and ends in "...".
std::string clean(const std::string& v, size_t max, bool escape) {
  std::vector<std::string> pieces;  // one character each, as written
  size_t total = 0;
  for (size_t i = 0; i < v.size();) {
    size_t n = utf8_len(v, i);
    std::string piece;
    if (n == 0) {
      piece = "?";
      n = 1;
    } else if (n == 1) {
      const char c = v[i];
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) piece = "?";
      else if (escape && (c == '"' || c == '\\' || c == ']')) piece = std::string("\\") + c;
      else piece = std::string(1, c);
    } else {
      piece = v.substr(i, n);
    }
    total += piece.size();
    pieces.push_back(std::move(piece));
    i += n;
  }
  std::string out;
  const size_t room = total <= max ? max : max - 3;
  for (const std::string& p : pieces) {
    if (out.size() + p.size() > room) break;
    out += p;
  }
  return total <= max ? out : out + "...";
}

// A header field: printable US-ASCII without space (RFC 5424 §6), "-" when empty.
std::string header_field(const std::string& v, size_t max) {
  std::string out;
  for (char c : v)
    if (c >= 33 && c <= 126 && out.size() < max) out += c;
  return out.empty() ? "-" : out;
}

std::string timestamp(int64_t at) {
  time_t t = static_cast<time_t>(at);
  struct tm tm {};
  if (!gmtime_r(&t, &tm)) return "-";
  char buf[32];
  if (strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) return "-";
  return buf;
}

}  // namespace

std::optional<int> facility_code(const std::string& name) {
  static const std::map<std::string, int> kCodes = {
      {"user", 1},    {"daemon", 3},  {"auth", 4},    {"authpriv", 10}, {"local0", 16},
      {"local1", 17}, {"local2", 18}, {"local3", 19}, {"local4", 20},   {"local5", 21},
      {"local6", 22}, {"local7", 23}};
  auto it = kCodes.find(name);
  if (it == kCodes.end()) return std::nullopt;
  return it->second;
}

std::string format_rfc5424(const storage::AuditRecord& a, const SyslogIdentity& id) {
  const int severity = a.outcome == "ok" ? 6 : 4;  // informational : warning
  std::string m = "<" + std::to_string(id.facility * 8 + severity) + ">1 " + timestamp(a.at) + " " +
                  header_field(id.hostname, 255) + " " + header_field(id.app_name, 48) + " " +
                  (id.pid > 0 ? std::to_string(id.pid) : "-") + " " + header_field(a.action, 32) + " ";
  m += std::string("[") + kSdId;
  const auto param = [&](const char* name, const std::string& v, size_t max) {
    m += std::string(" ") + name + "=\"" + clean(v, max, true) + "\"";
  };
  param("actor", a.actor, kActorMax);
  param("action", a.action, kActionMax);
  param("target", a.target, kTargetMax);
  param("client", a.client, kClientMax);
  param("outcome", a.outcome, kOutcomeMax);
  param("detail", a.detail, kDetailMax);
  m += "] ";
  m += clean(a.actor, kMsgPartMax, false) + " " + clean(a.action, kMsgPartMax, false) + " " +
       clean(a.target, kMsgPartMax, false) + ": " + clean(a.outcome, kMsgPartMax, false);
  if (m.size() > kMaxMessage) {  // only the MSG can reach here: cut it at a character boundary
    size_t cut = kMaxMessage;
    while (cut > 0 && (static_cast<unsigned char>(m[cut]) & 0xC0) == 0x80) --cut;
    m.resize(cut);
  }
  return m;
}

}  // namespace resetd::auditlog
