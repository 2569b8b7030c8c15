// FileRelay: each message becomes one .eml file in mail_dir, the appliance's
// mailbox when there is no mail server. Written atomically (temp file, fsync,
// rename, fsync of the directory) so a power cut leaves either no file or the
// whole message, never half of one. The name depends only on the outbox id
// and Message-ID, so a retry after a crash rewrites the same file.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>

#include "relays.h"
#include "resetd/notify/message.h"

namespace resetd::notify::detail {
namespace {

std::string errno_text(const std::string& what, int err) {
  return "file relay: " + what + ": " + std::strerror(err);
}

std::string file_name(const Envelope& e) {
  std::string safe;
  for (char c : e.message_id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == '@';
    safe += ok ? c : '_';
    if (safe.size() >= 120) break;
  }
  std::string id = std::to_string(e.id);
  if (id.size() < 8) id.insert(0, 8 - id.size(), '0');
  return safe.empty() ? id + ".eml" : id + "-" + safe + ".eml";
}

class FileRelay final : public Relay {
 public:
  explicit FileRelay(RelayConfig c) : c_(std::move(c)) {}

  DeliveryResult deliver(const Envelope& e) override {
    if (!valid_address(e.to)) {
      return {Outcome::Permanent, "file relay: invalid recipient address"};
    }
    if (::mkdir(c_.mail_dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return {Outcome::Temporary, errno_text("mkdir " + c_.mail_dir, errno)};
    }
    struct stat st {};
    if (::stat(c_.mail_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return {Outcome::Temporary, "file relay: " + c_.mail_dir + " is not a directory"};
    }

    const std::string name = file_name(e);
    const std::string final_path = c_.mail_dir + "/" + name;
    static std::atomic<unsigned> counter{0};
    const std::string tmp_path = c_.mail_dir + "/." + name + ".tmp" + std::to_string(::getpid()) +
                                 "-" + std::to_string(counter.fetch_add(1));
    const std::string data = build_message(e, c_.from);

    int fd = ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return {Outcome::Temporary, errno_text("create", errno)};
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::write(fd, data.data() + off, data.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return fail(fd, tmp_path, "write", n < 0 ? errno : EIO);
      off += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0) return fail(fd, tmp_path, "fsync", errno);
    if (::close(fd) != 0) return fail(-1, tmp_path, "close", errno);
    if (::rename(tmp_path.c_str(), final_path.c_str()) != 0) {
      return fail(-1, tmp_path, "rename", errno);
    }
    int dfd = ::open(c_.mail_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return {Outcome::Temporary, errno_text("open dir", errno)};
    int rc = ::fsync(dfd);
    int err = errno;
    ::close(dfd);
    if (rc != 0) return {Outcome::Temporary, errno_text("fsync dir", err)};
    return {Outcome::Sent, "written " + name};
  }

  std::string describe() const override { return "file " + c_.mail_dir; }

 private:
  static DeliveryResult fail(int fd, const std::string& tmp, const std::string& what, int err) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    return {Outcome::Temporary, errno_text(what, err)};
  }

  RelayConfig c_;
};

}  // namespace

std::unique_ptr<Relay> make_file_relay(const RelayConfig& c) {
  return std::make_unique<FileRelay>(c);
}

}  // namespace resetd::notify::detail
