// kind "none": resetd's own database holds the accounts (today's behaviour).
// AccountService keeps using its local code paths when local() is true; the
// operations here only answer, so a caller that forgets the check changes nothing.
#include "resetd/directory/directory.h"

namespace resetd::directory {

std::unique_ptr<Directory> make_ldap(const Config& c);  // ldap_directory.cpp

namespace {

class LocalDirectory final : public Directory {
 public:
  explicit LocalDirectory(Config c) : cfg_(std::move(c)) {}
  std::string kind() const override { return "none"; }
  bool local() const override { return true; }
  Answer test_connection() override { return {Outcome::Ok, 0, "local accounts (no directory)"}; }
  Answer list_users(const std::function<void(const Entry&)>&) override { return none(); }
  Answer get_user(const std::string&, Entry*) override { return none(); }
  Answer reset_password(const std::string&, const std::string&, bool) override { return none(); }
  Answer change_password(const std::string&, const std::string&, const std::string&) override {
    return none();
  }
  Answer unlock(const std::string&) override { return none(); }
  Answer change_pending(const std::string&, bool*) override { return none(); }
  Answer bind_check(const std::string&, const std::string&) override { return none(); }
  Answer member_of(const std::string&, std::vector<std::string>*) override { return none(); }
  Answer group_members(std::map<std::string, std::vector<std::string>>*) override { return none(); }
  const Config& config() const override { return cfg_; }

 private:
  static Answer none() { return {Outcome::Refused, 0, "no directory configured"}; }
  Config cfg_;
};

}  // namespace

std::unique_ptr<Directory> make(const Config& c) {
  if (c.remote()) return make_ldap(with_defaults(c));
  return std::make_unique<LocalDirectory>(c);
}

}  // namespace resetd::directory
