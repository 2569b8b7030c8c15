// RequestStream: the httplib::Stream a worker hands to httplib's
// process_request for one request. Not thread-safe; lives for one request.
#pragma once

#include <httplib.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "edge_conn.h"

namespace resetd::http {

// An answer's head and small bodies are held back and sent with what follows,
// so a typical answer leaves in one send (httplib writes head and body apart).
constexpr size_t kCoalesce = 16 * 1024;
constexpr size_t kCoalesceBody = 256 * 1024;  // copied once to join its head; larger: two sends

// What httplib's process_request reads and writes for one request: the
// framed bytes from memory (never the socket), the answer to the socket as
// far as it takes it now, the rest to the connection's output buffer for the
// reactor (flush() after process_request sends what is held back). Notes the
// answer's status and Connection: close.
class RequestStream final : public httplib::Stream {
 public:
  explicit RequestStream(Edge::Conn& c) : c_(c) {}
  bool is_readable() const override { return pos_ < c_.request.size(); }
  bool is_writable() const override { return !failed_; }
  ssize_t read(char* ptr, size_t size) override {
    const size_t k = std::min(size, c_.request.size() - pos_);
    std::memcpy(ptr, c_.request.data() + pos_, k);
    pos_ += k;
    return static_cast<ssize_t>(k);
  }
  ssize_t write(const char* ptr, size_t size) override {
    if (failed_) return -1;
    if (!head_seen_) sniff(ptr, size);
    if (held_.size() + size <= kCoalesce) {
      held_.append(ptr, size);
      return static_cast<ssize_t>(size);
    }
    if (!held_.empty() && size <= kCoalesceBody) {
      held_.append(ptr, size);
      return flush() ? static_cast<ssize_t>(size) : -1;
    }
    if (!flush() || !c_.send(ptr, size)) {
      failed_ = true;
      return -1;
    }
    return static_cast<ssize_t>(size);
  }
  bool flush() {
    if (!failed_ && !held_.empty() && !c_.send(held_.data(), held_.size())) failed_ = true;
    held_.clear();
    return !failed_;
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = c_.peer;
    port = c_.peer_port;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = c_.local;
    port = c_.local_port;
  }
  socket_t socket() const override { return c_.fd; }

  bool failed() const { return failed_; }
  int status() const { return status_; }
  bool says_close() const { return says_close_; }

 private:
  void sniff(const char* p, size_t n) {
    head_.append(p, std::min<size_t>(n, 16384));
    const size_t end = head_.find("\r\n\r\n");
    if (end == std::string::npos && head_.size() < 16384) return;
    head_seen_ = true;
    if (head_.size() > 12 && head_.rfind("HTTP/1.", 0) == 0) status_ = std::atoi(head_.c_str() + 9);
    std::string lower = head_.substr(0, end);
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    says_close_ = lower.find("\r\nconnection: close") != std::string::npos;
    head_.clear();
  }
  Edge::Conn& c_;
  size_t pos_ = 0;
  bool failed_ = false;
  bool head_seen_ = false;
  bool says_close_ = false;
  int status_ = 0;
  std::string head_;
  std::string held_;  // written by httplib, not yet sent
};


}  // namespace resetd::http
