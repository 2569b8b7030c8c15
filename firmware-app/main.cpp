// resetd: wiring only. The commands live in cli/.
#include "cli/cli.h"

int main(int argc, char** argv) { return resetd::run_cli(argc, argv); }
