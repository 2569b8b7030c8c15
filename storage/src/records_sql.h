// The records of records.h as SQL columns: the column lists, reading a row
// into a record and binding a record's fields, and the audit search's WHERE.
// Shared by the store and the query files beside it; only inside storage/src.
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <optional>
#include <string>

#include "resetd/storage/records.h"

namespace resetd::storage {

std::optional<int64_t> opt_i64(const SQLite::Column& c);
void bind_opt(SQLite::Statement& s, int idx, const std::optional<int64_t>& v);
std::string blob(const SQLite::Column& c);

extern const char* const kUserCols;
UserRecord read_user(SQLite::Statement& s);
// Binds the user fields after id, starting at parameter 1.
void bind_user(SQLite::Statement& s, const UserRecord& u);

extern const char* const kSessionCols;
SessionRecord read_session(SQLite::Statement& s);

extern const char* const kOutboxCols;
OutboxRecord read_outbox(SQLite::Statement& s);
void bind_outbox(SQLite::Statement& s, const OutboxRecord& m);

AuditRecord read_audit(SQLite::Statement& s);
// WHERE clause and binder shared by audit_list and audit_count.
std::string audit_where(const AuditQuery& q);
void audit_bind(SQLite::Statement& s, const AuditQuery& q);

}  // namespace resetd::storage
