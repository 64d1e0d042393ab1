"""The part of requirements.lock that the services need at run time, hashes kept.

`python runtime_lock.py requirements.lock [--with NAME]... pyproject.toml... > runtime.lock`

requirements.lock holds one hash-locked set for the whole repository, test and lint tools included. An
image should carry only what the services import: the dependencies that the given packages' pyproject
files declare, and everything those need, as the lock's ``# via`` notes record it. Each kept entry is
copied verbatim (version, markers and hashes), so `pip install --require-hashes` checks it exactly as
`make install` does. Standard library only: the image builder runs it before anything is installed.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

_ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==")
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_VIA_ONE = re.compile(r"^\s+# via (.+)$")
_VIA_MORE = re.compile(r"^\s+#   (.+)$")


class LockError(Exception):
    """The lock does not hold what a package declares; the message names it."""


@dataclass
class Entry:
    name: str
    text: list[str]  # the entry's lines as the lock has them
    needed_by: set[str]  # normalised names of the packages that require it ("-r requirements.in" left out)


def normalise(name: str) -> str:
    """PEP 503 name: case and the runs of ``-_.`` do not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_lock(text: str) -> dict[str, Entry]:
    entries: dict[str, Entry] = {}
    current: Entry | None = None
    for line in text.splitlines():
        start = _ENTRY.match(line)
        if start:
            current = Entry(normalise(start.group(1)), [line], set())
            entries[current.name] = current
            continue
        if current is None:
            continue  # a header before the first entry
        current.text.append(line)
        via = _VIA_ONE.match(line) or _VIA_MORE.match(line)
        if via and not via.group(1).startswith("-r "):
            current.needed_by.add(normalise(via.group(1).strip()))
    return entries


def declared(pyproject: Path) -> tuple[str, list[str]]:
    """A package's normalised name and the names of the dependencies it declares."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    names = []
    for requirement in project.get("dependencies", []):
        match = _REQUIREMENT_NAME.match(requirement)
        if match:
            names.append(normalise(match.group(1)))
    return normalise(project["name"]), names


def runtime_closure(entries: dict[str, Entry], roots: Iterable[str]) -> set[str]:
    """The roots and every entry that a kept entry requires, to a fixed point."""
    kept = set(roots)
    missing = kept - entries.keys()
    if missing:
        raise LockError(f"not in the lock (add them to requirements.in, then make lock): {sorted(missing)}")
    changed = True
    while changed:
        grown = {name for name, entry in entries.items() if entry.needed_by & kept}
        changed = not grown <= kept
        kept |= grown
    return kept


def runtime_lock(lock_text: str, pyprojects: Sequence[Path], also: Iterable[str] = ()) -> str:
    """The lock's entries the packages need; `also` names more roots (a build backend, say)."""
    entries = parse_lock(lock_text)
    packages = dict(declared(path) for path in pyprojects)
    # The repository's own packages are built from source, not taken from the lock.
    roots = {name for names in packages.values() for name in names} - packages.keys()
    roots |= {normalise(name) for name in also}
    kept = runtime_closure(entries, roots)
    lines = [line for name, entry in sorted(entries.items()) if name in kept for line in entry.text]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("lock", type=Path)
    parser.add_argument("pyprojects", type=Path, nargs="*")
    parser.add_argument("--with", dest="also", action="append", default=[], metavar="NAME")
    args = parser.parse_args(argv)
    try:
        sys.stdout.write(runtime_lock(args.lock.read_text(encoding="utf-8"), args.pyprojects, args.also))
    except LockError as error:
        print(f"runtime_lock: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
