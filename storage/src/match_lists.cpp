#include "match_lists.h"

#include <algorithm>
#include <unordered_set>

namespace resetd::storage {
namespace {

void bind_spec(SQLite::Statement& s, const std::string& sql, const MatchLists::Spec& spec) {
  if (sql.find(":m") != std::string::npos) s.bind(":m", spec.m);
  if (sql.find(":q") != std::string::npos) s.bind(":q", spec.q);
  if (sql.find(":disabled") != std::string::npos) s.bind(":disabled", *spec.disabled ? 1 : 0);
}

std::shared_ptr<const MatchLists::List> read_all(Conn& conn, const MatchLists::Spec& spec, int64_t now) {
  auto l = std::make_shared<MatchLists::List>();
  l->seq = now;
  SQLite::Statement& s = conn.stmt(spec.read);
  bind_spec(s, spec.read, spec);
  while (s.executeStep()) l->ids.push_back(s.getColumn(0).getInt64());
  return l;
}

// `kept` brought from its seq to `now`: the changed users taken out, those
// that match now placed again. Null when a change names no user (written
// before migration 0010) or too many users changed.
std::shared_ptr<const MatchLists::List> bring_up(Conn& conn, const MatchLists::Spec& spec, const MatchLists::List& kept,
                                                 int64_t now, size_t max_changed) {
  SQLite::Statement& c = conn.stmt("SELECT user_id FROM user_changes WHERE seq > :from AND seq <= :to");
  c.bind(":from", static_cast<int64_t>(kept.seq));
  c.bind(":to", static_cast<int64_t>(now));
  std::unordered_set<int64_t> changed;
  while (c.executeStep()) {
    if (c.getColumn(0).isNull() || changed.size() > max_changed) return nullptr;
    changed.insert(c.getColumn(0).getInt64());
  }
  auto l = std::make_shared<MatchLists::List>();
  l->seq = now;
  l->ids.reserve(kept.ids.size() + changed.size());
  for (int64_t id : kept.ids)
    if (!changed.count(id)) l->ids.push_back(id);
  // The rest keep their sort values (a change to one would have named them),
  // so the list is still in order and a binary search places each changed one.
  SQLite::Statement& before = conn.stmt("SELECT (a." + spec.sort + ", a.id) < (b." + spec.sort +
                                        ", b.id) FROM users a, users b WHERE a.id = :a AND b.id = :b");
  struct Gone {};  // a kept user without a change that says so: read again
  auto less = [&](int64_t a, int64_t b) {
    before.reset();
    before.bind(":a", static_cast<int64_t>(a));
    before.bind(":b", static_cast<int64_t>(b));
    if (!before.executeStep()) throw Gone{};
    return before.getColumn(0).getInt() != 0;
  };
  std::vector<int64_t> sorted_changed(changed.begin(), changed.end());
  std::sort(sorted_changed.begin(), sorted_changed.end());  // the same result whatever the set's order
  SQLite::Statement& m = conn.stmt(spec.matches);
  for (int64_t id : sorted_changed) {
    m.reset();
    m.clearBindings();
    m.bind(":id", static_cast<int64_t>(id));
    bind_spec(m, spec.matches, spec);
    if (!m.executeStep()) continue;
    m.reset();
    try {
      l->ids.insert(std::lower_bound(l->ids.begin(), l->ids.end(), id, less), id);
    } catch (const Gone&) {
      return nullptr;
    }
  }
  return l;
}
}  // namespace

std::shared_ptr<const MatchLists::List> MatchLists::get(Conn& conn, const Spec& spec, int64_t now) {
  std::shared_ptr<const List> kept = find(spec.key);
  if (kept && kept->seq > now) return nullptr;  // those changes are not visible here
  if (kept && kept->seq == now) return kept;
  std::shared_ptr<const List> l;
  if (kept) {
    SQLite::Statement& oldest = conn.stmt("SELECT coalesce(min(seq), 0) FROM user_changes");
    oldest.executeStep();
    // Every change since is still there (only the oldest are pruned).
    if (kept->seq + 1 >= oldest.getColumn(0).getInt64()) l = bring_up(conn, spec, *kept, now, kMaxChanged);
  }
  if (!l) l = read_all(conn, spec, now);
  put(spec.key, l);
  return l;
}

std::shared_ptr<const MatchLists::List> MatchLists::find(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = map_.find(key);
  return it == map_.end() ? nullptr : it->second;
}

void MatchLists::put(const std::string& key, std::shared_ptr<const List> l) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = map_.find(key);
  if (it != map_.end()) {
    if (it->second->seq >= l->seq) return;  // as new or newer kept already
    ids_ -= it->second->ids.size();
    it->second = l;
    ids_ += l->ids.size();
    return;
  }
  if (map_.size() >= kMaxLists || ids_ + l->ids.size() > kMaxIds) {
    map_.clear();
    ids_ = 0;
  }
  if (l->ids.size() > kMaxIds) return;
  map_.emplace(key, l);
  ids_ += l->ids.size();
}

}  // namespace resetd::storage
