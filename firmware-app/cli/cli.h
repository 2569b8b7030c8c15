// The command line of spec §2. Returns the process exit code:
// 0 success, 1 runtime failure, 2 usage error.
#pragma once

namespace resetd {
int run_cli(int argc, char** argv);
}
