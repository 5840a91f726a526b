"""Parse the PHP files of a tree in parallel worker processes, with a content-hash cache.

The cache maps the BLAKE2 hash of a file's bytes to what the parser extracted from it
(`FileFacts`), so an unchanged file is never parsed twice, wherever it lives. It is one
pickle per analysed root under the user's cache directory
(`$XDG_CACHE_HOME/premortem/check`, default `~/.cache/premortem/check`).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import pickle
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from premortem.check.walk import Entry, Tree
from premortem.php.syntax import FileFacts, extract

MAX_FILE_BYTES = 5 * 1024 * 1024
CACHE_VERSION = 1
# Below this many files to parse, worker start-up costs more than it saves.
PARALLEL_THRESHOLD = 48


@dataclass
class ParsedFile:
    entry: Entry
    facts: FileFacts
    invalid_utf8: bool = False


@dataclass
class ParseResult:
    files: list[ParsedFile] = field(default_factory=list)
    # reason ("too large", "binary", "unreadable") -> display paths
    skipped: dict[str, list[str]] = field(default_factory=dict)
    parsed: int = 0
    from_cache: int = 0


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "premortem" / "check"


def _cache_file(root_real: str) -> Path:
    digest = hashlib.blake2b(root_real.encode("utf-8", "surrogateescape"), digest_size=12)
    return cache_dir() / f"v{CACHE_VERSION}-{digest.hexdigest()}.pickle"


def _load_cache(path: Path) -> dict[bytes, FileFacts]:
    try:
        with path.open("rb") as handle:
            data = pickle.load(handle)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save_cache(path: Path, data: dict[bytes, FileFacts]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(data, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        pass  # a cache that cannot be written only costs time


def _parse_path(path: str) -> tuple[str, FileFacts | None]:
    try:
        with open(path, "rb") as handle:
            source = handle.read()
    except OSError:
        return path, None
    return path, extract(source)


def parse_tree(tree: Tree, *, use_cache: bool = True, workers: int | None = None) -> ParseResult:
    """FileFacts for every PHP file of the tree; skipped files are counted by reason."""
    result = ParseResult()
    cache_path = _cache_file(tree.root_real)
    cache = _load_cache(cache_path) if use_cache else {}
    to_parse: list[tuple[Entry, bytes, bool]] = []
    new_cache: dict[bytes, FileFacts] = {}
    for entry in tree.php_files():
        if entry.st is not None and entry.st.st_size > MAX_FILE_BYTES:
            result.skipped.setdefault("larger than 5 MB", []).append(entry.display)
            continue
        try:
            with open(entry.path, "rb") as handle:
                source = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            result.skipped.setdefault(f"unreadable ({exc.strerror})", []).append(entry.display)
            continue
        if len(source) > MAX_FILE_BYTES:
            result.skipped.setdefault("larger than 5 MB", []).append(entry.display)
            continue
        if b"\0" in source[:8192]:
            result.skipped.setdefault("binary", []).append(entry.display)
            continue
        invalid_utf8 = not source.isascii() and not _is_utf8(source)
        key = hashlib.blake2b(source, digest_size=16).digest()
        facts = cache.get(key)
        if facts is not None:
            new_cache[key] = facts
            result.files.append(ParsedFile(entry, facts, invalid_utf8))
            result.from_cache += 1
        else:
            to_parse.append((entry, key, invalid_utf8))

    parsed = _parse_many([entry.path for entry, _, _ in to_parse], workers)
    for entry, key, invalid_utf8 in to_parse:
        facts = parsed.get(entry.path)
        if facts is None:
            result.skipped.setdefault("unreadable", []).append(entry.display)
            continue
        new_cache[key] = facts
        result.files.append(ParsedFile(entry, facts, invalid_utf8))
        result.parsed += 1
    result.files.sort(key=lambda f: f.entry.rel)
    if use_cache and (to_parse or len(new_cache) != len(cache)):
        _save_cache(cache_path, new_cache)
    return result


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _parse_many(paths: list[str], workers: int | None) -> dict[str, FileFacts | None]:
    if not paths:
        return {}
    count = workers or os.cpu_count() or 1
    if count <= 1 or len(paths) < PARALLEL_THRESHOLD:
        return dict(_parse_path(p) for p in paths)
    # Biggest first so that no worker is left with one large file at the end.
    ordered = sorted(paths, key=_size, reverse=True)
    # fork: the workers inherit the loaded parser instead of importing everything again.
    context = multiprocessing.get_context("fork")
    with context.Pool(processes=count) as pool:
        return dict(pool.imap_unordered(_parse_path, ordered, chunksize=8))


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0
