// See gate.h.
#include "resetd/directory/gate.h"

namespace resetd::directory {
namespace {

class GatedDirectory final : public Directory {
 public:
  GatedDirectory(std::shared_ptr<Directory> inner, std::shared_ptr<CallGate> gate)
      : in_(std::move(inner)), gate_(std::move(gate)) {}
  std::string kind() const override { return in_->kind(); }
  bool local() const override { return in_->local(); }
  const Config& config() const override { return in_->config(); }

  Answer test_connection() override { return run([&] { return in_->test_connection(); }); }
  Answer list_users(const std::function<void(const Entry&)>& each) override {
    return run([&] { return in_->list_users(each); });
  }
  Answer get_user(const std::string& id, Entry* out) override { return run([&] { return in_->get_user(id, out); }); }
  Answer reset_password(const std::string& dn, const std::string& pw, bool require_change) override {
    return run([&] { return in_->reset_password(dn, pw, require_change); });
  }
  Answer change_password(const std::string& dn, const std::string& old_pw, const std::string& new_pw) override {
    return run([&] { return in_->change_password(dn, old_pw, new_pw); });
  }
  Answer unlock(const std::string& dn) override { return run([&] { return in_->unlock(dn); }); }
  Answer change_pending(const std::string& dn, bool* pending) override {
    return run([&] { return in_->change_pending(dn, pending); });
  }
  Answer bind_check(const std::string& dn, const std::string& pw) override {
    return run([&] { return in_->bind_check(dn, pw); });
  }
  Answer member_of(const std::string& dn, std::vector<std::string>* groups) override {
    return run([&] { return in_->member_of(dn, groups); });
  }
  Answer group_members(std::map<std::string, std::vector<std::string>>* members) override {
    return run([&] { return in_->group_members(members); });
  }

 private:
  template <class F>
  Answer run(F&& f) {
    if (!gate_->try_enter())
      return {Outcome::Unavailable, 51 /* LDAP busy */,
              "resetd already waits on the directory with as many calls as it allows at once; "
              "this one was not made",
              Failure::Busy};
    struct Leave {
      CallGate& g;
      ~Leave() { g.leave(); }
    } leave{*gate_};
    return f();
  }

  std::shared_ptr<Directory> in_;
  std::shared_ptr<CallGate> gate_;
};

}  // namespace

std::shared_ptr<Directory> gated(std::shared_ptr<Directory> inner, std::shared_ptr<CallGate> gate) {
  if (!inner || !gate) return inner;
  return std::make_shared<GatedDirectory>(std::move(inner), std::move(gate));
}

}  // namespace resetd::directory
