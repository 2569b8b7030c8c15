// The build date, in the one file it reaches (see clock.h: build_epoch()).
#include "resetd/common/clock.h"

namespace resetd {

int64_t build_epoch() { return RESETD_BUILD_EPOCH; }

}  // namespace resetd
