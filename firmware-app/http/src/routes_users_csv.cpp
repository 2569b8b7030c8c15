// /users as CSV: the import template, "Add users from a CSV file" and the export.
#include <string>

#include "api.h"
#include "resetd/accounts/csv.h"

namespace resetd::http {

namespace {

constexpr int64_t kExportMaxRows = 100000;

void send_csv(httplib::Response& res, std::string&& body, const char* filename) {
  res.status = 200;
  res.set_header("Content-Disposition", std::string("attachment; filename=\"") + filename + "\"");
  // The BOM makes Excel read the file as UTF-8 (names in zh-TW and tr-TR).
  set_body(res, "\xef\xbb\xbf" + body, "text/csv; charset=utf-8");
}

json row_errors_json(const std::vector<accounts::ImportRowError>& errors) {
  json rows = json::array();
  for (const auto& e : errors) {
    json x = {{"row", e.row}, {"code", e.code}, {"message", e.message}};
    if (!e.field.empty()) x["field"] = e.field;
    rows.push_back(std::move(x));
  }
  return rows;
}

}  // namespace

void add_user_csv_routes(std::vector<Route>& r, Services& s) {
  r.push_back({"GET", PathPattern("/users/import/template"), Auth::Session, [](Ctx& c) {
                 if (!accounts::may_manage(c.actor->role, accounts::Role::User))
                   fail(403, "forbidden", "You are not allowed to do this.");
                 send_csv(c.res, accounts::csv::line(accounts::import_columns()), "resetd-users-template.csv");
               }});
  // {csv, delivery?, require_change?, password_style?, dry_run?} -> 201
  // {rows, created, users:[{row, user, notifications}]}; any row in error:
  // 422 import_rows_invalid with error.rows [{row, field?, code, message}]
  // and nothing created. No password or link is answered: they go by mail.
  r.push_back({"POST", PathPattern("/users/import"), Auth::Session, [&s](Ctx& c) {
                 const std::string text = req_string(c.body, "csv");
                 const bool dry_run = opt_bool(c.body, "dry_run").value_or(false);
                 accounts::ResetOptions o = reset_options(c.body);
                 o.notify.clear();  // each user's own address (accounts)
                 auto rep = take(s.accounts.import_users(*c.actor, text, o, dry_run));
                 if (!rep.errors.empty()) {
                   const size_t rows_bad = [&] {
                     std::vector<int> v;
                     for (const auto& e : rep.errors)
                       if (v.empty() || v.back() != e.row) v.push_back(e.row);
                     return v.size();
                   }();
                   json err = {{"code", "import_rows_invalid"},
                               {"message", std::to_string(rows_bad) + (rows_bad == 1 ? " row has" : " rows have") +
                                               " errors; no user was created."},
                               {"field", "csv"},
                               {"rows", row_errors_json(rep.errors)}};
                   send_json(c.res, 422, {{"error", std::move(err)}});
                   return;
                 }
                 json users = json::array();
                 for (const auto& x : rep.created) {
                   json n = json::array();
                   for (const auto& m : x.notifications) n.push_back(notification_json(m));
                   users.push_back({{"row", x.row}, {"user", user_json(x.user, s)}, {"notifications", std::move(n)}});
                 }
                 send_json(c.res, dry_run ? 200 : 201,
                           {{"rows", rep.rows}, {"created", rep.created.size()}, {"dry_run", dry_run}, {"users", users}});
               }});
  // The users the list shows for q=, disabled= and filter=, sorted by username, as
  // CSV with the template's columns first (so an export imports elsewhere)
  // and read-only ones after. Never a password or a hash.
  r.push_back({"GET", PathPattern("/users/export"), Auth::Session, [&s](Ctx& c) {
                 const std::string q = c.req.has_param("q") ? c.req.get_param_value("q") : "";
                 if (q.size() > 256) fail(422, "invalid_query", "q is too long.", "q");
                 const std::optional<bool> disabled = query_bool(c.req, "disabled");
                 // The list's filter (an unknown one: 422 invalid_filter, from list_users).
                 const std::string filter = c.req.has_param("filter") ? c.req.get_param_value("filter") : "";
                 std::vector<std::string> head = accounts::import_columns();
                 for (const char* k : {"disabled", "created_at"}) head.push_back(k);
                 std::string out = accounts::csv::line(head);
                 int64_t total = 0;
                 for (int64_t offset = 0; offset < kExportMaxRows;) {
                   auto page = take(s.accounts.list_users(*c.actor, q, offset, 1000, "username", disabled, filter));
                   total = page.total;
                   for (const auto& u : page.users)
                     out += accounts::csv::line({u.username, u.display_name, u.email, u.alternate_email, u.locale,
                                                 u.role, u.disabled ? "true" : "false", rfc3339(u.created_at)});
                   offset += static_cast<int64_t>(page.users.size());
                   if (page.users.empty() || offset >= page.total) break;
                 }
                 if (total > kExportMaxRows) c.res.set_header("X-Resetd-Truncated", std::to_string(kExportMaxRows));
                 send_csv(c.res, std::move(out), "resetd-users.csv");
               }});
}

}  // namespace resetd::http
