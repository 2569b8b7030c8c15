#!/usr/bin/env python3
"""Every configuration key the code accepts is documented in resetd.toml(5).

The keys are read out of firmware-app/config/src/config.cpp itself: each
take("section", {"key", ...}, ...) call, and each sub-table read with
<table>->get("key") from a table taken with section("name"). The man page's keys
are the .B lines after .TP under .SH "[section]" (a comma list: several keys).
Sections keyed by role are read from their loop's `key == "…"` tests. A key in the code but not in
the page fails; so does a page key the code does not know (a stale page).

  man_keys_test.py SOURCE_DIR
"""
import pathlib
import re
import sys

src = pathlib.Path(sys.argv[1])
code = (src / "firmware-app/config/src/config.cpp").read_text()
page = (src / "packaging/man/resetd.toml.5").read_text()

in_code = set()
for m in re.finditer(r'take\("(\w+)",(.*?)\);', code, re.S):
    for key in re.findall(r'\{"(\w+)",', m.group(2)):
        in_code.add(f"{m.group(1)}.{key}")
tables = dict(re.findall(r'const toml::table\*\s*(\w+)\s*=\s*section\("(\w+)"\)', code))
for var, key in re.findall(r'\b(\w+)->get\("(\w+)"\)', code):
    if var in tables:
        in_code.add(f"{tables[var]}.{key}")
# Sections keyed by role ([second_factor], [caller_verification]) loop over their
# table and name the keys they take in `key == "…"` / `key != "…"` tests.
for var, body in re.findall(r'for \(const auto& \[k, v\] : \*(\w+)\) \{(.*?)\n    \}\n', code, re.S):
    if var in tables:
        for key in re.findall(r'key [!=]= "(\w+)"', body):
            in_code.add(f"{tables[var]}.{key}")
if len(in_code) < 20:
    sys.exit(f"FAIL: found only {len(in_code)} keys in config.cpp; has its shape changed? {sorted(in_code)}")

in_page = set()
section = None
lines = page.splitlines()
for i, line in enumerate(lines):
    if m := re.match(r'\.SH "\[(\w+)\]"', line):
        section = m.group(1)
    elif line.startswith(".SH"):
        section = None
    elif line == ".TP" and section and i + 1 < len(lines) and lines[i + 1].startswith(".B "):
        # one key, or several sharing a description: `.B user, helpdesk_admin, …`
        for key in lines[i + 1][3:].split(","):
            in_page.add(f"{section}." + key.split()[0])

missing = sorted(in_code - in_page)
stale = sorted(in_page - in_code)
for k in missing:
    print(f"FAIL: config key {k} is accepted by config.cpp but not documented in resetd.toml(5)")
for k in stale:
    print(f"FAIL: resetd.toml(5) documents {k}, which config.cpp does not accept")
if missing or stale:
    sys.exit(1)
print(f"ok: all {len(in_code)} config keys documented in resetd.toml(5)")
