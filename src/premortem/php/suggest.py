"""Did-you-mean for a missing include target, and the exact edit of the include line.

The suggestion is the closest existing file: the same name with another extension
(`.phpp` -> `.php`), a name differing only in case, or a name within a small edit
distance (one or two typed characters, a swap counting as one, and at most a third of
the name before its first dot: `js.inc.php` gets no `db.inc.php`). Each missing path
component is corrected the same way against its parent directory's entries.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from premortem.model import Edit


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """Damerau-Levenshtein distance (optimal string alignment), capped at `limit`."""
    if abs(len(a) - len(b)) >= limit:
        return limit
    previous_previous: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous_previous[j - 2] + 1)
        if min(current) >= limit:
            return limit
        previous_previous, previous = previous, current
    return min(previous[-1], limit)


def _stem_ext(name: str) -> tuple[str, str]:
    stem, ext = os.path.splitext(name)
    return (stem, ext) if stem else (name, "")


def _closest(
    name: str, siblings: list[str], *, last: bool, split: list[tuple[str, str]] | None = None
) -> str | None:
    """The best existing sibling for a missing `name`, or None if nothing is close.
    `split`: each sibling's (stem, extension), when known already."""
    if not siblings:
        return None
    stems = split if split is not None else [_stem_ext(s) for s in siblings]
    lowered = name.lower()
    case_only = [s for s in siblings if s.lower() == lowered]
    if len(case_only) == 1:
        return case_only[0]
    stem, ext = _stem_ext(name)
    if last and stem:
        same_stem = [s for s, (s_stem, _) in zip(siblings, stems, strict=True) if s_stem == stem]
        if len(same_stem) == 1:
            return same_stem[0]
        php = [s for s in same_stem if s.endswith(".php")]
        if len(php) == 1:
            return php[0]
    # One typed character in a short name is already a large change; allow two for longer.
    allowed = 1 if len(name) <= 6 else 2
    # And the change must be small beside the name before its first dot: js.inc.php is not
    # a typo of db.inc.php (two of two letters), class-wp-locle.php is one of ...locale.php.
    base = len(name.split(".", 1)[0]) or len(name)
    scored: list[tuple[int, int, str]] = []
    for sibling, (_, sibling_ext) in zip(siblings, stems, strict=True):
        distance = edit_distance(name, sibling, allowed + 1)
        if distance <= allowed and distance * 3 <= base:
            # Among equals, prefer keeping the extension.
            same_ext = 0 if sibling_ext == ext else 1
            scored.append((distance, same_ext, sibling))
    if not scored:
        return None
    scored.sort()
    if len(scored) > 1 and scored[0][:2] == scored[1][:2]:
        return None  # two equally good answers: better no suggestion than a wrong one
    return scored[0][2]


# Directory listings kept between suggestions (10,000 broken includes into one directory
# of 200 files were 2 million stats), each as long as the directory's mtime is unchanged.
_LISTINGS: dict[str, tuple[int, _Listing]] = {}
MAX_LISTINGS = 1024
# A directory with more entries than this gets no did-you-mean (each would cost a stat).
MAX_ENTRIES = 50_000


def _listdir(directory: str) -> list[str]:
    try:
        return sorted(os.listdir(directory))
    except (OSError, ValueError):
        return []


@dataclass(frozen=True)
class _Listing:
    """A directory's files (with their stems and extensions) and subdirectories."""

    files: list[str] = field(default_factory=list)
    split: list[tuple[str, str]] = field(default_factory=list)
    dirs: list[str] = field(default_factory=list)


def _entries(directory: str) -> _Listing:
    """What `directory` holds (symlinks followed), from the cache while its mtime holds."""
    try:
        mtime = os.stat(directory).st_mtime_ns
    except (OSError, ValueError):
        return _Listing()
    cached = _LISTINGS.get(directory)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    names = _listdir(directory)
    if len(names) > MAX_ENTRIES:
        return _Listing()
    files = [e for e in names if os.path.isfile(os.path.join(directory, e))]
    dirs = [e for e in names if os.path.isdir(os.path.join(directory, e))]
    listing = _Listing(files, [_stem_ext(f) for f in files], dirs)
    if len(_LISTINGS) >= MAX_LISTINGS:
        del _LISTINGS[next(iter(_LISTINGS))]
    _LISTINGS[directory] = (mtime, listing)
    return listing


def suggest_existing(missing: Path) -> Path | None:
    """The existing file the author most likely meant instead of `missing`, if any."""
    path = os.path.normpath(os.fspath(missing))
    if not os.path.isabs(path) or os.path.isfile(path):
        return None
    parts = path.split("/")[1:]
    current = "/"
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        candidate = os.path.join(current, part)
        if (os.path.isfile(candidate) if last else os.path.isdir(candidate)) and part:
            current = candidate
            continue
        listing = _entries(current)
        if last:
            best = _closest(part, listing.files, last=True, split=listing.split)
        else:
            best = _closest(part, listing.dirs, last=False)
        if best is None:
            return None
        current = os.path.join(current, best)
    return Path(current) if os.path.isfile(current) else None


def _common_affixes(a: str, b: str) -> tuple[int, int]:
    prefix = 0
    limit = min(len(a), len(b))
    while prefix < limit and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and a[-1 - suffix] == b[-1 - suffix]:
        suffix += 1
    return prefix, suffix


def literal_edit(
    segments: tuple[tuple[str, str | None], ...], missing: str, suggestion: str
) -> tuple[str, str] | None:
    """(old literal source, new literal source) turning `missing` into `suggestion`.

    `segments` is the evaluated include path with the literal each piece came from; the
    edit is possible when the differing characters all lie in one literal of the line.
    """
    text = "".join(t for t, _ in segments)
    prefix, suffix = _common_affixes(missing, suggestion)
    # Align from the end: the resolved path may differ from the expression's text before
    # the changed part (normalised `..`, an include_path directory in front).
    tail = missing[prefix:]
    if not text.endswith(tail):
        return None
    start = len(text) - len(tail)
    end = len(text) - suffix
    replacement = suggestion[prefix : len(suggestion) - suffix]
    position = 0
    for piece, raw in segments:
        piece_start, piece_end = position, position + len(piece)
        position = piece_end
        if raw is None or start < piece_start or end > piece_end:
            continue
        quote, body = raw[0], raw[1:-1]
        if body != piece:
            return None  # escapes in the literal: no exact edit
        local_start, local_end = start - piece_start, end - piece_start
        new_body = body[:local_start] + replacement + body[local_end:]
        return raw, f"{quote}{new_body}{quote}"
    return None


def edit_for_literal(
    file: str,
    line: int,
    source_line: str,
    segments: tuple[tuple[str, str | None], ...],
    missing: str,
    suggestion: str,
) -> Edit | None:
    found = literal_edit(segments, missing, suggestion)
    if found is None:
        return None
    old, new = found
    if source_line.count(old) != 1:
        return None  # the literal is not on that line alone (multi-line or repeated)
    return Edit(file=file, line=line, old=old, new=new)
