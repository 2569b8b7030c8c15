// Helpers for the notify tests: temp dirs, free loopback ports, a child
// process that is always killed, base64 and RFC 2047 decoding.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace notify_test {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "resetd-notify-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A port on 127.0.0.1 that was free a moment ago.
inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    throw std::runtime_error("bind failed");
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

inline bool can_connect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// A child process, killed and reaped when this goes out of scope.
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv) {
    pid_ = ::fork();
    if (pid_ == 0) {
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

 private:
  pid_t pid_ = -1;
};

// Waits (bounded) until something accepts connections on the port.
inline bool wait_listening(int port, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (can_connect(port)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

inline std::string base64_decode(const std::string& in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  unsigned buf = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    int v = val(c);
    if (v < 0) {
      if (c == '\r' || c == '\n') continue;
      throw std::runtime_error(std::string("bad base64 char: ") + c);
    }
    buf = (buf << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buf >> bits) & 0xFF);
    }
  }
  return out;
}

// Decodes a header value made of RFC 2047 "B" encoded words in UTF-8 (as
// encode_header_word writes them): unfolds CRLF SP, drops the white space
// between adjacent encoded words, and records every word so the test can
// check its length. Throws on anything that is not such a word.
inline std::string decode_rfc2047(const std::string& value, std::vector<std::string>* words) {
  std::string unfolded;
  for (size_t i = 0; i < value.size(); ++i) {
    if (value.compare(i, 3, "\r\n ") == 0) {
      unfolded += ' ';
      i += 2;
    } else if (value[i] == '\r' || value[i] == '\n') {
      throw std::runtime_error("bare line break in header value");
    } else {
      unfolded += value[i];
    }
  }
  std::istringstream ss(unfolded);
  std::string word;
  std::string out;
  const std::string prefix = "=?UTF-8?B?";
  while (ss >> word) {
    if (words) words->push_back(word);
    if (word.rfind(prefix, 0) != 0 || word.size() < prefix.size() + 2 ||
        word.compare(word.size() - 2, 2, "?=") != 0) {
      throw std::runtime_error("not an encoded word: " + word);
    }
    out += base64_decode(word.substr(prefix.size(), word.size() - prefix.size() - 2));
  }
  return out;
}

// True when every byte sequence in s is complete, well-formed UTF-8.
inline bool valid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

// The header block of a message (up to the empty line), split into unfolded
// fields; and the body after it.
struct ParsedMessage {
  std::vector<std::pair<std::string, std::string>> headers;  // name, raw value (folds kept)
  std::string body;
  std::string header(const std::string& name) const {
    for (const auto& h : headers) {
      if (h.first == name) return h.second;
    }
    return {};
  }
  int count(const std::string& name) const {
    int n = 0;
    for (const auto& h : headers) n += h.first == name ? 1 : 0;
    return n;
  }
};

inline ParsedMessage parse_message(const std::string& m) {
  ParsedMessage p;
  size_t end = m.find("\r\n\r\n");
  if (end == std::string::npos) throw std::runtime_error("no header/body separator");
  std::string head = m.substr(0, end + 2);
  p.body = m.substr(end + 4);
  size_t i = 0;
  while (i < head.size()) {
    size_t eol = head.find("\r\n", i);
    std::string line = head.substr(i, eol - i);
    i = eol + 2;
    if (!line.empty() && line[0] == ' ') {
      if (p.headers.empty()) throw std::runtime_error("fold before first header");
      p.headers.back().second += "\r\n" + line;
      continue;
    }
    size_t colon = line.find(':');
    if (colon == std::string::npos) throw std::runtime_error("header without colon: " + line);
    std::string value = line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    p.headers.emplace_back(line.substr(0, colon), value);
  }
  return p;
}

}  // namespace notify_test
