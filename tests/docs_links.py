#!/usr/bin/env python3
"""The documentation stays inside the repository: every relative link in a Markdown file
(README.md, docs/, tests/bench/results/, …) must name a file or directory of this tree,
and a #fragment a heading of the file it points to; and no file of the tree may point
outside it (the /work/ checkout, ../shared notes, the toolchain notes).

Usage: docs_links.py [REPO_ROOT]   (default: two levels above this file). Exit 1 names
each broken link or outside reference with its file and line."""
import os
import re
import sys

SKIP_DIRS = {".git", "node_modules", "output", "__pycache__"}
OUTSIDE = [re.compile(p) for p in (r"\.\./shared\b", r"(?<![\w.])/work/", r"\bshared/(spec|seeds)\b",
                                   r"\bTOOLCHAIN\.md\b")]
LINK = re.compile(r"(?<!\!)\[(?:[^\]\\]|\\.)*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|!\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^\s*(```|~~~)")


def skip_dir(name):
    return name in SKIP_DIRS or name.startswith("build")


def walk(root):
    for d, dirs, files in os.walk(root):
        dirs[:] = sorted(x for x in dirs if not skip_dir(x))
        for f in sorted(files):
            if f == ".git":  # a worktree's pointer to its repository, not ours to check
                continue
            yield os.path.join(d, f)


def prose_lines(text):
    """(line number, line) outside fenced code blocks, with `code spans` blanked."""
    fenced = False
    for n, line in enumerate(text.split("\n"), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield n, re.sub(r"`[^`]*`", lambda m: " " * len(m.group(0)), line)


def slug(heading):
    """GitHub's anchor for a heading."""
    h = re.sub(r"`", "", heading.strip().lower())
    h = re.sub(r"[^\w\- ]", "", h)
    return h.replace(" ", "-")


def anchors(path, cache={}):
    if path not in cache:
        seen, out = {}, set()
        text = open(path, encoding="utf-8").read()
        for _, line in prose_lines(text):
            m = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
            if m:
                s = slug(m.group(1))
                k = seen.get(s, 0)
                seen[s] = k + 1
                out.add(s if k == 0 else "%s-%d" % (s, k))
        cache[path] = out
    return cache[path]


def check_links(root, path, text, errors):
    here = os.path.dirname(path)
    for n, line in prose_lines(text):
        for m in LINK.finditer(line):
            target = m.group(1) or m.group(2)
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # https:, mailto:, man: …
                continue
            where = "%s:%d: %s" % (os.path.relpath(path, root), n, target)
            file_part, _, frag = target.partition("#")
            dest = os.path.normpath(os.path.join(here, file_part)) if file_part else path
            if file_part.startswith("/"):
                errors.append(where + ": absolute path (write it relative to the file)")
                continue
            if os.path.commonpath([os.path.realpath(dest), os.path.realpath(root)]) != os.path.realpath(root):
                errors.append(where + ": points outside the repository")
                continue
            if not os.path.exists(dest):
                errors.append(where + ": no such file")
                continue
            if frag and dest.endswith(".md") and frag not in anchors(dest):
                errors.append(where + ": no heading #%s there" % frag)


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
    me = os.path.join("tests", "docs_links.py")  # its patterns name what it looks for
    errors, md = [], 0
    for path in walk(root):
        if os.path.relpath(path, root) == me or os.path.getsize(path) > 2_000_000:
            continue
        try:
            text = open(path, encoding="utf-8").read()
        except (UnicodeDecodeError, OSError):
            continue  # binary
        for n, line in enumerate(text.split("\n"), 1):
            for p in OUTSIDE:
                if p.search(line):
                    errors.append("%s:%d: points outside the repository (%s): %s"
                                  % (os.path.relpath(path, root), n, p.pattern, line.strip()[:120]))
        if path.endswith(".md"):
            md += 1
            check_links(root, path, text, errors)
    for e in errors:
        print(e)
    if not md:
        print("no Markdown files found under %s" % root)
        return 1
    print("%d Markdown files, %d problems" % (md, len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
