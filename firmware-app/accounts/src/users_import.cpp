// AccountService::import_users: several users from a CSV file, all or none,
// each with a welcome mail.
#include <algorithm>
#include <map>
#include <set>

#include "credentials.h"
#include "resetd/accounts/csv.h"
#include "resetd/accounts/service.h"
#include "resetd/accounts/text.h"

namespace resetd::accounts {

using storage::UserRecord;

namespace {

constexpr size_t kMaxErrors = 200;

std::string trim(std::string v) {
  const auto b = v.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  return v.substr(b, v.find_last_not_of(" \t") - b + 1);
}

// "Display name", "display-name", "DISPLAY_NAME" -> "display_name".
std::string column_key(std::string v) {
  v = ascii_lower(trim(csv::unguard(std::move(v))));
  for (char& c : v)
    if (c == ' ' || c == '-') c = '_';
  return v == "language" ? "locale" : v;
}

bool export_only(const std::string& k) {
  static const std::set<std::string> ro = {"id", "disabled", "locked", "must_change_password",
                                           "password_expires_at", "created_at", "updated_at",
                                           "last_sign_in", "source"};
  return ro.count(k) > 0;
}

std::string locale_of(const std::string& v) {
  const std::string l = ascii_lower(v);
  if (l == "en") return "en";
  if (l == "zh-tw" || l == "zh_tw") return "zh-TW";
  if (l == "tr-tr" || l == "tr_tr") return "tr-TR";
  return {};
}

}  // namespace

Result<ImportReport> AccountService::import_users(const Actor& a, const std::string& text, ResetOptions o,
                                                  bool dry_run) {
  if (!may_manage(a.role, Role::User)) return make_error("forbidden", "You are not allowed to do this.");
  if (o.mode != "auto")
    return make_error("invalid_mode", "Users from a file get generated passwords or links (mode \"auto\").", "mode");
  if (auto s = validate_options(o, true); !s) return s.error();
  if (o.delivery == "link" && settings_.public_url.empty())
    return make_error("public_url_required",
                      "Set server.public_url in the configuration to send set-password links.", "delivery");

  ImportReport rep;
  csv::Limits lim;
  lim.max_records = kImportMaxRows + 1;
  const csv::Table t = csv::read(text, lim);
  if (!t.ok()) {
    if (t.error_row == 0) return make_error(t.code, t.message, "csv");
    rep.errors.push_back({t.error_row, "", t.code, t.message});
    return rep;
  }
  auto add = [&rep](int row, std::string field, std::string code, std::string msg) {
    if (rep.errors.size() < kMaxErrors) rep.errors.push_back({row, std::move(field), std::move(code), std::move(msg)});
  };

  // The header: which column holds what.
  const auto& head = t.records.front();
  std::map<std::string, size_t> col;
  for (size_t i = 0; i < head.fields.size(); ++i) {
    const std::string k = column_key(head.fields[i]);
    const bool known = std::find(import_columns().begin(), import_columns().end(), k) != import_columns().end();
    if (k == "password")
      add(head.row, k, "password_column",
          "Passwords are not taken from a file: each user gets a generated password or a link by mail. Remove the column.");
    else if (!known && !export_only(k))
      add(head.row, head.fields[i], "unknown_column",
          "Unknown column \"" + head.fields[i] + "\"; the columns are username, display_name, email, "
          "alternate_email, locale, role.");
    else if (known && col.count(k))
      add(head.row, k, "duplicate_column", "The column " + k + " appears twice.");
    else if (known)
      col[k] = i;
  }
  for (const char* need : {"username", "email"})
    if (!col.count(need)) add(head.row, need, "missing_column", std::string("The header row has no ") + need + " column.");
  rep.rows = static_cast<int>(t.records.size()) - 1;
  if (rep.rows == 0) add(head.row, "", "csv_no_users", "The file has a header row but no users.");
  if (!rep.errors.empty()) return rep;

  struct Row {
    int row;
    UserRecord u;
  };
  std::vector<Row> rows;
  std::map<std::string, int> seen;  // username -> first row
  for (size_t r = 1; r < t.records.size(); ++r) {
    const auto& rec = t.records[r];
    if (rec.fields.size() != head.fields.size()) {
      add(rec.row, "", "wrong_field_count",
          "This row has " + std::to_string(rec.fields.size()) + " fields; the header has " +
              std::to_string(head.fields.size()) + ".");
      continue;
    }
    auto get = [&](const char* k) { return col.count(k) ? trim(csv::unguard(rec.fields[col[k]])) : std::string(); };
    UserRecord u;
    u.username = ascii_lower(get("username"));
    u.display_name = get("display_name");
    u.email = get("email");
    u.alternate_email = get("alternate_email");
    const std::string loc = get("locale");
    const std::string role_text = get("role");
    if (!valid_username(u.username)) {
      add(rec.row, "username", "invalid_username", "Usernames are 1–64 characters of a-z 0-9 . _ -");
    } else if (auto s = check_not_reserved(u.username); !s) {
      add(rec.row, "username", s.error().code, s.error().message);
    } else if (auto [it, fresh] = seen.emplace(u.username, rec.row); !fresh) {
      add(rec.row, "username", "duplicate_username",
          "The username " + u.username + " is already on row " + std::to_string(it->second) + ".");
    }
    if (!valid_email(u.email)) add(rec.row, "email", "invalid_email", "Not a valid email address.");
    if (!u.alternate_email.empty() && !valid_email(u.alternate_email))
      add(rec.row, "alternate_email", "invalid_email", "Not a valid email address.");
    if (codepoints(u.display_name) > 128 || u.display_name.find_first_of("\r\n\t") != std::string::npos)
      add(rec.row, "display_name", "invalid_display_name", "Display name: up to 128 characters, one line.");
    u.locale = loc.empty() ? settings_.default_locale : locale_of(loc);
    if (u.locale.empty()) add(rec.row, "locale", "invalid_locale", "Locale must be en, zh-TW or tr-TR.");
    const auto role = parse_role(role_text.empty() ? "user" : ascii_lower(role_text));
    if (!role)
      add(rec.row, "role", "invalid_role",
          "Unknown role; the roles are user, helpdesk_admin, password_admin, user_admin, global_admin.");
    else if (!may_manage(a.role, *role) || !may_assign(a.role, *role))
      add(rec.row, "role", "forbidden", "Your role can't create users with the role " + role_name(*role) + ".");
    else
      u.role = role_name(*role);
    rows.push_back({rec.row, std::move(u)});
  }
  // Names already in use (checked again when writing).
  store_.read([&](storage::Reader& r) {
    for (const auto& x : rows)
      if (valid_username(x.u.username) && r.user_by_username(x.u.username))
        add(x.row, "username", "username_taken", "That username is already in use.");
  });
  if (!rep.errors.empty()) {
    std::stable_sort(rep.errors.begin(), rep.errors.end(),
                     [](const ImportRowError& x, const ImportRowError& y) { return x.row < y.row; });
    return rep;
  }
  if (dry_run) return rep;

  // Passwords (and their hashes) before the one transaction that creates all.
  const int64_t now = clock_.now();
  std::vector<Prepared> preps;
  preps.reserve(rows.size());
  for (auto& x : rows) {
    x.u.created_at = x.u.updated_at = now;
    x.u.search_text = search_text(x.u);
    auto p = prepare(x.u, o);
    if (!p) return p.error();
    preps.push_back(std::move(p.value()));
  }
  std::optional<ImportRowError> taken;
  store_.write([&](storage::Writer& w) {
    for (const auto& x : rows)
      if (w.user_by_username(x.u.username)) {
        taken = ImportRowError{x.row, "username", "username_taken", "That username is already in use."};
        return;  // nothing written yet
      }
    for (size_t i = 0; i < rows.size(); ++i) {
      UserRecord& u = rows[i].u;
      u.id = w.insert_user(u);
      audit(w, a.username, a.client, "user_create", u.username, "ok",
            "role " + u.role + " (CSV import, row " + std::to_string(rows[i].row) + ")");
      ResetOptions oi = o;
      oi.notify = {u.email};  // the welcome mail goes to the new user
      oi.notify_user = false;
      auto out = apply_reset(w, u, preps[i], oi, a.username, a.client, "user_create_password");
      rep.created.push_back({rows[i].row, out.user, out.notifications});
    }
    audit(w, a.username, a.client, "user_import", "", "ok",
          std::to_string(rows.size()) + " users from a CSV file");
  });
  if (taken) {
    rep.errors.push_back(*taken);
    rep.created.clear();
    return rep;
  }
  notify_outbox();
  return rep;
}

}  // namespace resetd::accounts
