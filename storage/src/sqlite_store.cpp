// SqliteStore: Store over SQLite in WAL mode: one writer connection behind a mutex, a pool of
// read-only connections, migrations, backup and the clean-stop mark.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <SQLiteCpp/SQLiteCpp.h>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "migrations.h"
#include "sqlite_conn.h"
#include "sqlite_errors.h"
#include "sqlite_tx.h"
#include "resetd/storage/store.h"

namespace fs = std::filesystem;

namespace resetd::storage {
namespace {

// The clean-stop mark: data_dir/resetd.clean holds the identity of
// resetd.db (device, inode, size, mtime in ns) as a clean close left it, with
// no -wal file beside it. A start that finds the file exactly so skips the
// full quick_check; any change since (a write by another program, a restore,
// a damaged copy put in place) or a stop without the mark (crash, power cut,
// SIGKILL) gets the full check. The mark is deleted (durably) before the
// database is opened, so it never outlives the run that trusted it.
std::string file_identity(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return {};
  return std::to_string(st.st_dev) + " " + std::to_string(st.st_ino) + " " +
         std::to_string(st.st_size) + " " + std::to_string(st.st_mtim.tv_sec) + " " +
         std::to_string(st.st_mtim.tv_nsec);
}

void fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

class SqliteStore final : public Store {
 public:
  SqliteStore(const std::string& data_dir, const OpenOptions& o)
      : data_dir_(data_dir),
        path_((fs::path(data_dir) / "resetd.db").string()),
        mark_((fs::path(data_dir) / "resetd.clean").string()),
        busy_timeout_ms_(o.busy_timeout_ms),
        keep_mark_(o.trust_clean_stop) {
    // Before SQLite initializes (the first open): no global allocation
    // statistics, whose mutex every SQLite malloc in every thread would take;
    // and no up-front page-cache block per connection (SQLite's default is 20
    // pages, written through at open): pages are allocated as they are read,
    // 0.1 MB less idle RSS with the writer and one reader open.
    static const bool configured = [] {
      sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
      sqlite3_config(SQLITE_CONFIG_PAGECACHE, nullptr, 0, 0);
      return true;
    }();
    (void)configured;
    const std::string& path = path_;
    const bool existed = fs::exists(path);
    if (!existed && !o.create)
      throw StorageError(StorageError::Kind::Other, "no database at " + path);
    bool clean = false;
    if (o.trust_clean_stop) clean = take_clean_mark();
    try {
      // NOMUTEX: each connection is used by one thread at a time (the writer
      // under mu_, a reader while taken from the pool), so SQLite's own
      // per-connection mutex only costs.
      int flags = SQLite::OPEN_READWRITE | SQLite::OPEN_NOMUTEX | (o.create ? SQLite::OPEN_CREATE : 0);
      writer_ = std::make_unique<Conn>(std::make_unique<SQLite::Database>(path, flags, o.busy_timeout_ms));
      SQLite::Database& db = *writer_->db;
      if (existed && o.quick_check && !clean) {
        // Before anything that could write: a damaged file is never touched.
        std::string r = db.execAndGet("PRAGMA quick_check").getString();
        if (r != "ok")
          throw StorageError(StorageError::Kind::Corrupt,
                             "database " + path + " is damaged (quick_check: " + r +
                                 "); restore a backup with 'resetd restore'");
      }
      const int have = db.execAndGet("PRAGMA user_version").getInt();
      const int known = binary_schema_version();
      if (have > known)
        throw StorageError(StorageError::Kind::TooNew,
                           "database " + path + " has schema version " + std::to_string(have) +
                               ", newer than this binary's " + std::to_string(known) +
                               "; run a newer resetd or restore a backup");
      db.exec("PRAGMA journal_mode=WAL");
      db.exec("PRAGMA synchronous=FULL");
      db.exec("PRAGMA foreign_keys=ON");
      db.exec("PRAGMA secure_delete=ON");  // erased bodies leave no plaintext behind
      db.exec("PRAGMA temp_store=MEMORY");  // no temp files: the data dir is all we write
      if (o.cache_mib > 0) db.exec("PRAGMA cache_size=-" + std::to_string(o.cache_mib * 1024));
      ::chmod(path.c_str(), 0600);
      if (o.migrate && have < known) migrate(have, known);
    } catch (const SQLite::Exception& e) {
      // A full disk shows up at open as "disk I/O error" (SQLite can't size
      // its -shm file) or SQLITE_FULL: name the cause and the way out.
      const int primary = e.getErrorCode() & 0xff;
      if ((primary == SQLITE_IOERR || primary == SQLITE_FULL || primary == SQLITE_CANTOPEN) &&
          disk_is_full(data_dir))
        throw StorageError(StorageError::Kind::Full, full_disk_message(data_dir));
      StorageError t = translate(e);
      if (t.kind() == StorageError::Kind::Corrupt)
        throw StorageError(StorageError::Kind::Corrupt,
                           "database " + path + " is damaged (" + e.what() +
                               "); restore a backup with 'resetd restore'");
      throw t;
    }
  }

  ~SqliteStore() override {
    readers_.clear();
    writer_.reset();  // the last close checkpoints and removes the -wal file
    if (keep_mark_) put_clean_mark();
  }

  // A callback that calls back into the store would wait on its own mutex
  // forever; make that programming error loud instead.
  struct ReentryGuard {
    ReentryGuard() {
      if (inside_) throw std::logic_error("storage: Store used from inside a read/write callback");
      inside_ = true;
    }
    ~ReentryGuard() { inside_ = false; }
    static thread_local bool inside_;
  };

  // Reads run on read-only connections of their own (WAL: a reader sees the
  // last commit and never waits for the writer), up to kReaders at once.
  void read(const std::function<void(Reader&)>& fn) override {
    ReentryGuard guard;
    ReaderLease lease(*this);
    std::unique_ptr<Conn>& c = lease.c;
    try {
      SQLite::Transaction tx(*c->db, SQLite::TransactionBehavior::DEFERRED);
      struct Reset {
        Conn& c;
        ~Reset() { c.reset_used(); }
      } reset{*c};
      SqliteTx r(*c);
      r.count_memo = &count_memo_;
      fn(r);
      c->reset_used();
      tx.commit();
    } catch (const SQLite::Exception& e) {
      throw translate(e);
    }
  }

  void write(const std::function<void(Writer&)>& fn) override {
    ReentryGuard guard;
    std::lock_guard<std::mutex> lock(mu_);
    write_locked(fn, true);
  }

  void write_unsynced(const std::function<void(Writer&)>& fn) override {
    ReentryGuard guard;
    std::lock_guard<std::mutex> lock(mu_);
    write_locked(fn, false);
  }

  // synchronous is switched only here, between transactions: a write() after
  // an unsynced one goes back to FULL before it begins (or fails).
  void write_locked(const std::function<void(Writer&)>& fn, bool full_sync) {
    std::vector<AuditRecord> appended;
    try {
      if (full_sync_ != full_sync) {
        writer_->db->exec(full_sync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
        full_sync_ = full_sync;
      }
      SQLite::Transaction tx(*writer_->db, SQLite::TransactionBehavior::IMMEDIATE);
      struct Reset {
        Conn& c;
        ~Reset() { c.reset_used(); }
      } reset{*writer_};
      // Counted whether or not the commit happens: a spare change costs one
      // rebuilt answer, a missed one a stale answer.
      struct Bump {
        std::atomic<uint64_t>& g;
        ~Bump() { g.fetch_add(1); }
      } bump{generation_};
      SqliteTx w(*writer_);
      if (audit_listener()) w.appended_audit = &appended;
      fn(w);
      writer_->reset_used();
      tx.commit();
    } catch (const SQLite::Exception& e) {
      throw translate(e);
    }
    // Committed: nothing the listener does may turn that into a reported failure.
    for (const AuditRecord& a : appended) {
      try {
        audit_listener()(a);
      } catch (...) {
      }
    }
  }

  // Every connection's first look after a commit by another process sees
  // data_version differ from its last look (or looks for the first time) and
  // counts one change; the value returned is read after that, and so after
  // every commit that finished before this call began.
  uint64_t data_generation() override {
    ReentryGuard guard;
    ReaderLease lease(*this);
    std::unique_ptr<Conn>& c = lease.c;
    try {
      SQLite::Statement& s = c->stmt("PRAGMA data_version");
      const int64_t v = s.executeStep() ? s.getColumn(0).getInt64() : -2;
      c->reset_used();
      if (v != c->data_version || v == -2) {
        c->data_version = v;
        generation_.fetch_add(1);
      }
    } catch (const SQLite::Exception& e) {
      c->reset_used();
      throw translate(e);
    }
    return generation_.load();
  }

  void backup_to(const std::string& path) override {
    std::lock_guard<std::mutex> lock(mu_);
    // The snapshot holds every hash and sealed secret: create it 0600 before
    // SQLite writes a byte. SQLite gives its journal the main file's mode, and
    // VACUUM INTO accepts an empty existing file.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
      throw StorageError(StorageError::Kind::Other,
                         "cannot create " + path + ": " + std::strerror(errno));
    const bool private_mode = ::fchmod(fd, 0600) == 0;  // whatever the umask
    ::close(fd);
    if (!private_mode) {
      ::unlink(path.c_str());
      throw StorageError(StorageError::Kind::Other, "cannot make " + path + " private");
    }
    try {
      SQLite::Statement s(*writer_->db, "VACUUM INTO ?");
      s.bind(1, path);
      s.exec();
    } catch (const SQLite::Exception& e) {
      ::unlink(path.c_str());
      throw translate(e);
    }
  }

  std::string integrity_check() override {
    std::lock_guard<std::mutex> lock(mu_);
    try {
      return writer_->db->execAndGet("PRAGMA integrity_check").getString();
    } catch (const SQLite::Exception& e) {
      return e.what();
    }
  }

  int schema_version() override {
    std::lock_guard<std::mutex> lock(mu_);
    return writer_->db->execAndGet("PRAGMA user_version").getInt();
  }

 private:
  static constexpr size_t kReaders = 2;

  // A reader connection for one scope, given back at its end (also on a throw).
  struct ReaderLease {
    SqliteStore& st;
    std::unique_ptr<Conn> c;
    explicit ReaderLease(SqliteStore& s) : st(s), c(s.take_reader()) {}
    ~ReaderLease() { st.give_reader(std::move(c)); }
    ReaderLease(const ReaderLease&) = delete;
    ReaderLease& operator=(const ReaderLease&) = delete;
  };

  std::unique_ptr<Conn> take_reader() {
    std::unique_lock<std::mutex> lock(rmu_);
    rcv_.wait(lock, [&] { return !readers_.empty() || open_readers_ < kReaders; });
    if (!readers_.empty()) {
      auto c = std::move(readers_.back());
      readers_.pop_back();
      return c;
    }
    ++open_readers_;
    lock.unlock();
    try {
      auto db = std::make_unique<SQLite::Database>(path_, SQLite::OPEN_READONLY | SQLite::OPEN_NOMUTEX,
                                                  busy_timeout_ms_);
      db->exec("PRAGMA temp_store=MEMORY");
      return std::make_unique<Conn>(std::move(db));
    } catch (const SQLite::Exception& e) {
      {
        std::lock_guard<std::mutex> l(rmu_);
        --open_readers_;
      }
      rcv_.notify_one();
      throw translate(e);
    }
  }
  void give_reader(std::unique_ptr<Conn> c) {
    {
      std::lock_guard<std::mutex> lock(rmu_);
      readers_.push_back(std::move(c));
    }
    rcv_.notify_one();
  }

  // True when the mark matches the file as it is now; the mark is gone after.
  bool take_clean_mark() {
    std::string want;
    {
      std::ifstream in(mark_);
      if (!in) return false;
      std::getline(in, want);
    }
    const bool ok = !want.empty() && want == file_identity(path_) && !fs::exists(path_ + "-wal");
    ::unlink(mark_.c_str());
    fsync_dir(data_dir_);  // a crash in this run must not find the mark again
    return ok;
  }
  void put_clean_mark() {
    if (fs::exists(path_ + "-wal")) return;  // another process still has it open
    const std::string id = file_identity(path_);
    if (id.empty()) return;
    const std::string tmp = mark_ + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return;
    const std::string line = id + "\n";
    const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                    ::fsync(fd) == 0;
    ::close(fd);
    if (ok && ::rename(tmp.c_str(), mark_.c_str()) == 0) fsync_dir(data_dir_);
    else ::unlink(tmp.c_str());
  }

  void migrate(int have, int known) {
    if (have > 0) snapshot_before(known);
    const auto& all = migrations();
    SQLite::Database& db = *writer_->db;
    for (int v = have; v < known; ++v) {
      SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
      db.exec(all[static_cast<size_t>(v)].sql);
      db.exec("PRAGMA user_version = " + std::to_string(v + 1));
      tx.commit();
    }
  }

  // data_dir/backups/pre-vN.db, keeping the last two.
  void snapshot_before(int target) {
    fs::path dir = fs::path(data_dir_) / "backups";
    fs::create_directories(dir);
    ::chmod(dir.c_str(), 0700);
    fs::path snap = dir / ("pre-v" + std::to_string(target) + ".db");
    fs::remove(snap);
    SQLite::Statement s(*writer_->db, "VACUUM INTO ?");
    s.bind(1, snap.string());
    s.exec();
    ::chmod(snap.c_str(), 0600);
    std::vector<std::pair<int, fs::path>> snaps;
    for (const auto& e : fs::directory_iterator(dir)) {
      std::string n = e.path().filename().string();
      if (n.rfind("pre-v", 0) == 0 && n.size() > 8 && n.ends_with(".db")) {
        try {
          snaps.emplace_back(std::stoi(n.substr(5, n.size() - 8)), e.path());
        } catch (...) {
        }
      }
    }
    std::sort(snaps.begin(), snaps.end());
    while (snaps.size() > 2) {
      fs::remove(snaps.front().second);
      snaps.erase(snaps.begin());
    }
  }

  std::string data_dir_;
  std::string path_;
  std::string mark_;
  int busy_timeout_ms_;
  bool keep_mark_;
  std::mutex mu_;  // the writer
  bool full_sync_ = true;  // the writer's synchronous setting: FULL, or NORMAL after write_unsynced()
  std::unique_ptr<Conn> writer_;
  std::atomic<uint64_t> generation_{1};  // see data_generation()
  CountMemo count_memo_;
  std::mutex rmu_;  // the reader pool
  std::condition_variable rcv_;
  std::vector<std::unique_ptr<Conn>> readers_;
  size_t open_readers_ = 0;
};

thread_local bool SqliteStore::ReentryGuard::inside_ = false;

}  // namespace

std::unique_ptr<Store> Store::open(const std::string& data_dir, const OpenOptions& o) {
  return std::make_unique<SqliteStore>(data_dir, o);
}

}  // namespace resetd::storage
