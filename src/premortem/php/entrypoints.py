"""Entry points and the working directory each one gives the files it reaches.

PHP resolves `require './x.php'` (and `require 'x.php'` through include_path's `.`)
against the *working directory*: for a web request the directory of the requested script,
for a CLI script wherever it was started (its own directory, by convention), moved by
`chdir()`. So the working directory of an included file is the one its entry point gives.

Entry points are the `.php` files no other file of the tree includes (what the web server
or a shell runs directly). From each, the include graph (the includes whose target was
found) is walked breadth-first, carrying the working directory through the `chdir()` calls
of each file before the include's line. Bounded: a few working directories per file and a
fixed number of steps overall.

What is known only by guessing stays a guess: when the tree holds includes check cannot
resolve, an entry point may really be a page included from elsewhere (`include
"modules/$page.php"`), so its working directory is any of its own directory and its
parents, as before; when a file reached from an entry point calls `chdir()` in a way the
walk does not follow (another file than the including chain), what it reaches from that
entry point is unknown and is not judged.
"""

from __future__ import annotations

import posixpath
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

# Bounds: distinct working directories kept per file, and edges followed overall.
MAX_REACHES_PER_FILE = 8
MAX_STEPS = 200_000

Cwds = tuple[str, ...]


@dataclass(frozen=True)
class Reach:
    """A file reached from `entry` with working directory one of `cwds` on entering it."""

    entry: str
    cwds: Cwds


# An edge: (line of the include in the including file, the included file).
Edges = Mapping[str, Iterable[tuple[int, str]]]
# The working directories after the chdir() calls of `file` before `line`; None if one of
# them cannot be computed.
Move = Callable[[str, int, Cwds], Cwds | None]


def entry_points(files: Iterable[str], edges: Edges) -> list[str]:
    """The `.php` files that no file of the tree includes, in the given order."""
    targets = {target for outgoing in edges.values() for _, target in outgoing}
    return [f for f in files if f.endswith(".php") and f not in targets]


def reaching(entries: Iterable[str], edges: Edges, wanted: Iterable[str]) -> list[str]:
    """The entries (in order) from which a `wanted` file can be reached (or that are one):
    walking from the others cannot say anything about the wanted files. In MediaWiki,
    thousands of autoloaded class files are entry points that reach nothing of interest."""
    including: dict[str, list[str]] = {}
    for source, outgoing in edges.items():
        for _, target in outgoing:
            including.setdefault(target, []).append(source)
    seen = set(wanted)
    stack = list(seen)
    while stack:
        for source in including.get(stack.pop(), ()):
            if source not in seen:
                seen.add(source)
                stack.append(source)
    return [entry for entry in entries if entry in seen]


def reaches(
    entries: Iterable[str],
    edges: Edges,
    start: Callable[[str], Cwds],
    move: Move,
    has_chdir: Callable[[str], bool],
) -> dict[str, list[Reach]]:
    """For each file reached from an entry point, the entry points and working directories."""
    found: dict[str, list[Reach]] = {}
    steps = 0
    for entry in entries:
        if _unfollowed_chdir(entry, edges, has_chdir):
            continue
        queue: deque[tuple[str, Cwds]] = deque([(entry, start(entry))])
        seen: set[tuple[str, Cwds]] = set()
        while queue and steps < MAX_STEPS:
            file, cwds = queue.popleft()
            if (file, cwds) in seen:
                continue
            seen.add((file, cwds))
            known = found.setdefault(file, [])
            if len(known) >= MAX_REACHES_PER_FILE:
                continue
            if all(r.cwds != cwds for r in known):
                known.append(Reach(entry, cwds))
            for line, target in edges.get(file, ()):
                steps += 1
                moved = move(file, line, cwds)
                if moved is not None:
                    queue.append((target, moved))
    return found


def _unfollowed_chdir(entry: str, edges: Edges, has_chdir: Callable[[str], bool]) -> bool:
    """Whether a file reached from `entry` (not `entry` itself) calls chdir(): its effect
    outlives the file and reaches the includes that come after it in other files."""
    seen = {entry}
    stack = [entry]
    while stack and len(seen) < 5000:
        for _, target in edges.get(stack.pop(), ()):
            if target in seen:
                continue
            if has_chdir(target):
                return True
            seen.add(target)
            stack.append(target)
    return False


def parents(directory: str, roots: Iterable[str]) -> Cwds:
    """`directory` and each parent up to one of `roots` (or /), then the roots."""
    root_set = set(roots)
    guesses: list[str] = []
    while True:
        guesses.append(directory)
        if directory in root_set or directory in ("/", ""):
            break
        parent = posixpath.dirname(directory)
        if parent == directory:
            break
        directory = parent
    for root in roots:
        if root not in guesses:
            guesses.append(root)
    return tuple(guesses)
