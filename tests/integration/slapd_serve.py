"""Runs the throwaway slapd of slapd_lab.py for a test in another language (the
browser tests): prints one JSON line ({"toml": ..., "ldaps_url": ...}) when
slapd answers, and stops it when stdin closes (the caller exits or closes it)."""
import json
import shutil
import sys
import tempfile

from slapd_lab import Slapd

if __name__ == "__main__":
    base = tempfile.mkdtemp(prefix="resetd-slapd-")
    s = Slapd(base).start()
    try:
        print(json.dumps({"toml": s.toml(), "ldaps_url": s.ldaps_url, "ca": s.ca}), flush=True)
        sys.stdin.read()
    finally:
        s.stop()
        shutil.rmtree(base, ignore_errors=True)
