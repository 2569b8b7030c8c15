#include "resetd/storage/store.h"

#include "migrations.h"

namespace resetd::storage {

int Store::binary_schema_version() { return static_cast<int>(migrations().size()); }

}  // namespace resetd::storage
