"""Parse the PHP files of a tree in parallel worker processes, with a content-hash cache.

Files are parsed by this process and forked copies of it (`php.forkwork`).

The cache maps the BLAKE2 hash of a file's bytes to what the parser extracted from it
(`FileFacts`), so an unchanged file is never parsed twice, wherever it lives. It is one
pickle per analysed root under the user's cache directory
(`$XDG_CACHE_HOME/premortem/check`, default `~/.cache/premortem/check`). As git's index
does, it also remembers each path's stat signature (size, mtime, ctime, inode) with the
hash, so that a file whose signature did not change is not even read again; ctime
cannot be set back by a user, so a rewritten file is always read and hashed. A tree
checked for the first time starts from the facts of its most recently checked sibling
(`releases/<new>/` from `releases/<previous>/`): only the files that changed are parsed.
The cache is a few objects for the whole tree, not a few per file (php.parsecache).
"""

from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from premortem.cachedir import CACHE_VERSION as CACHE_VERSION  # the format of these caches
from premortem.cachedir import tree_cache_file
from premortem.errors import PremortemError
from premortem.php import parsecache
from premortem.php.forkwork import WorkerDied, map_forked
from premortem.php.lint import php_lint
from premortem.php.outline import PHP_PARSER, close_outliner
from premortem.php.outline import outliner as outliner_of_process
from premortem.php.syntax import (
    LARGE_FILE_BYTES,
    Expr,
    FileFacts,
    RawInclude,
    SyntaxProblem,
    extract,
    extract_large,
)
from premortem.php.walk import STAT_SIGNATURE_BYTES, Entry, Tree

MAX_FILE_BYTES = 5 * 1024 * 1024
# Below this many files to parse, worker start-up costs more than it saves.
PARALLEL_THRESHOLD = 48
# Files parsed per round of worker processes: what the workers send back (about 2 KB a
# file before the facts are shared) is held for one round. At least PARSE_BATCH, at most
# PARSE_ROUNDS rounds: each round forks the workers again (and starts their php).
PARSE_BATCH = 10_000
PARSE_ROUNDS = 20


@dataclass(slots=True)
class ParsedFile:
    entry: Entry
    facts: FileFacts
    invalid_utf8: bool = False
    # The hash of its bytes (see _content_key), kept in the cache; None without cache.
    key: bytes | None = None


_FACT_FIELDS = tuple(f.name for f in fields(FileFacts))


class _Facts:
    """Facts as a dict key: equal facts (every file without include, define or syntax
    error; the thousand copies of one generated file) are kept once."""

    __slots__ = ("facts", "hash")

    def __init__(self, facts: FileFacts) -> None:
        self.facts = facts
        # Every field (lists as tuples), whatever fields FileFacts gains; not through
        # vars(), which would give each object a dict of its own.
        values = (getattr(facts, name) for name in _FACT_FIELDS)
        self.hash = hash(tuple(tuple(v) if isinstance(v, list) else v for v in values))

    def __hash__(self) -> int:
        return self.hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Facts) and self.facts == other.facts


class _Shared:
    """One FileFacts object per distinct value, and one RawInclude object per distinct
    statement (`require_once ABSPATH . WPINC . '/x.php';` at the same line of many files)
    in the others (facts are not changed after the parse: ParseResult.set_lint replaces
    them)."""

    def __init__(self) -> None:
        self.known: dict[_Facts, FileFacts] = {}
        self.includes: dict[RawInclude, RawInclude] = {}

    def __call__(self, facts: FileFacts) -> FileFacts:
        try:
            shared = self.known.setdefault(_Facts(facts), facts)
            if shared is facts and facts.includes:  # new: its own list, shared by no one
                facts.includes = [self.includes.setdefault(i, i) for i in facts.includes]
            return shared
        except TypeError:  # an expression holding something unhashable: kept as is
            return facts


@dataclass
class ParseResult:
    files: list[ParsedFile] = field(default_factory=list)
    # reason ("too large", "binary", "unreadable") -> display paths
    skipped: dict[str, list[str]] = field(default_factory=dict)
    parsed: int = 0
    from_cache: int = 0
    # Where to save the cache (built from `files` when saved: their facts may be completed
    # later, e.g. with php -l verdicts), and whether it changed.
    cache_path: Path | None = None
    dirty: bool = False

    def set_lint(
        self, parsed_file: ParsedFile, verdict: tuple[bool, str | None, int | None]
    ) -> None:
        """Keep `php -l`'s verdict on the file with its facts (cached with them). The facts
        are replaced, not changed: files with equal facts share one object."""
        parsed_file.facts = replace(parsed_file.facts, php_lint=verdict)
        self.dirty = True

    def cache_data(self) -> dict[str, Any]:
        """The parse cache of this tree (see php.parsecache)."""
        return parsecache.pack(
            (f.entry.rel, f.entry.stat_bytes[:STAT_SIGNATURE_BYTES], f.key, f.invalid_utf8, f.facts)
            for f in self.files
            if f.key is not None and f.entry.stat_bytes is not None
        )

    def save_cache(self) -> None:
        if self.cache_path is not None and self.dirty:
            save_cache(self.cache_path, self.cache_data())
            self.dirty = False


def _sibling_facts(cache_path: Path) -> parsecache.Stored | None:
    """The cache of the most recently checked sibling tree (the previous release, typically).

    A new release directory is mostly the previous release's files: their content hashes
    are the same, so they need not be parsed again.
    """
    prefix = cache_path.name.rsplit("-", 1)[0]
    siblings = [p for p in cache_path.parent.glob(f"{prefix}-*.pickle") if p != cache_path]
    if not siblings:
        return None
    newest = max(siblings, key=lambda p: p.stat().st_mtime if p.exists() else 0)
    return _load_cache(newest)


def _load_cache(path: Path) -> parsecache.Stored | None:
    try:
        with path.open("rb") as handle:
            return parsecache.Stored.of(pickle.load(handle))
    except Exception:
        return None


def save_cache(path: Path, data: dict[str, Any]) -> None:
    """Pickle `data` to `path` atomically; a cache that cannot be written is no error."""
    import tempfile  # imported here for start-up speed: an unchanged re-run saves nothing

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(data, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        pass  # a cache that cannot be written only costs time


# What a worker reports about one file: its facts (None if skipped), the reason it was
# skipped, whether it is invalid UTF-8, and its content hash (b"" without a cache).
Outcome = tuple[FileFacts | None, str | None, bool, bytes]


def _read_checked(path: str) -> tuple[bytes | None, str | None]:
    """The file's bytes, or the reason it is not parsed (unreadable, too large, binary)."""
    try:
        with open(path, "rb") as handle:
            # Sized reads: asking for 5 MB allocates 5 MB for every 10 kB file.
            size = os.fstat(handle.fileno()).st_size
            source = handle.read(min(size, MAX_FILE_BYTES) + 1)
            if size < len(source) <= MAX_FILE_BYTES:  # it grew since: read on, up to the cap
                source += handle.read(MAX_FILE_BYTES + 1 - len(source))
    except OSError as exc:
        return None, f"unreadable ({exc.strerror})"
    if len(source) > MAX_FILE_BYTES:
        return None, "larger than 5 MB"
    if b"\0" in source[:8192]:
        return None, "binary"
    return source, None


def _content_key(source: bytes) -> bytes:
    return hashlib.blake2b(source, digest_size=16).digest()


def _parse_path(job: tuple[str, bool, bool]) -> tuple[str, Outcome]:
    """Read, check, hash and parse one file (in a worker process).

    Everything per file happens here, not in the parent: the parent would otherwise read
    every file a second time while the workers wait for work.
    """
    path, want_key, use_php = job
    source, skipped = _read_checked(path)
    if source is None:
        return path, (None, skipped, False, b"")
    invalid_utf8 = not source.isascii() and not _is_utf8(source)
    key = _content_key(source) if want_key else b""
    if len(source) <= LARGE_FILE_BYTES:
        return path, (_facts(path, source, use_php), None, invalid_utf8, key)
    # Bounded memory: only the statements around includes/defines are parsed, and the
    # file's syntax is checked by php -l (a handful of generated data files per tree).
    facts = extract_large(source)
    verdict = php_lint(path) if use_php else None
    if verdict is not None:
        facts.php_lint = verdict
        if not verdict[0]:
            line = verdict[2] or 1
            facts.syntax_problems.append(SyntaxProblem(line, 1, f"syntax error: {verdict[1]}"))
    return path, (facts, None, invalid_utf8, key)


def _facts(path: str, source: bytes, use_php: bool) -> FileFacts:
    """The file's facts: PHP judges the syntax and outlines what tree-sitter must parse;
    without php, tree-sitter parses it whole and its errors are confirmed by php -l."""
    shape = outliner_of_process() if use_php else None
    outline = shape.outline(source) if shape is not None else None
    if outline is None:
        facts = extract(source)
        # Confirm tree-sitter's parse errors here, overlapping the other files' parsing,
        # rather than one php process after another at the end of the run.
        if use_php and facts.syntax_problems:
            facts.php_lint = php_lint(path)
        return facts
    if outline.error is not None:
        message, line = outline.error
        facts = extract(source, syntax=False)  # whole: its includes still count
        facts.syntax_problems = [SyntaxProblem(line, 1, message)]
        facts.php_lint = (False, message, line)
    elif not outline.relevant:
        return FileFacts(syntax_by=PHP_PARSER)  # nothing the include analysis reads
    elif outline.constant_names is not None:  # parsed if an include asks (php.constants)
        return FileFacts(syntax_by=PHP_PARSER, pending_constants=outline.constant_names)
    else:
        facts = extract(source, outline.skips, syntax=False, spots=outline.spots)
    facts.syntax_by = PHP_PARSER
    return facts


def constants_of(path: str) -> list[tuple[str, Expr]]:
    """The constants the file at `path` defines, parsed now (see php.constants); [] if it
    cannot be read any more."""
    source, _skipped = _read_checked(path)
    if source is None:
        return []
    if len(source) > LARGE_FILE_BYTES:
        return extract_large(source).defines
    return extract(source, syntax=False).defines


def parse_tree(
    tree: Tree,
    *,
    use_cache: bool = True,
    workers: int | None = None,
    use_php: bool = False,
) -> ParseResult:
    """FileFacts for every PHP file of the tree; skipped files are counted by reason.

    With `use_php`, the installed PHP judges each file's syntax and tells tree-sitter
    what it may skip (php.outline); without php, or without `use_php`, tree-sitter parses
    every file whole (and with `use_php`, the files it flags are confirmed by `php -l`).
    The verdicts are kept in the files' facts, and cached with them.
    """
    result = ParseResult()
    cache_path = tree_cache_file(tree.root_real)
    own = _load_cache(cache_path) if use_cache else None
    known = own if own is not None and own.count else None
    if use_cache and known is None:
        known = _sibling_facts(cache_path)
    # In the order of the cache's records (and of the result).
    entries = sorted(tree.php_files(), key=lambda e: e.rel)
    to_parse, unchanged = _from_cache(entries, result, own, known)
    del entries
    shared = _Shared()
    # In batches: what the workers send back (every file's facts, unpickled, before they
    # are shared) is held for one batch at a time, not for the whole tree.
    size = max(PARSE_BATCH, -(-len(to_parse) // PARSE_ROUNDS))
    try:
        for start in range(0, len(to_parse), size):
            batch = to_parse[start : start + size]
            outcomes = _parse_many(batch, workers, want_key=use_cache, use_php=use_php)
            for entry in batch:
                facts, skipped, invalid_utf8, key = outcomes.pop(
                    entry.path, (None, None, False, b"")
                )
                if facts is None:
                    result.skipped.setdefault(skipped or "unreadable", []).append(entry.display)
                    continue
                kept = key if use_cache and key else None
                result.files.append(ParsedFile(entry, shared(facts), invalid_utf8, kept))
                result.parsed += 1
            del outcomes
    finally:
        close_outliner()  # no php process outlives the parse
    del shared
    result.files.sort(key=lambda f: f.entry.rel)  # two sorted runs: merged in linear time
    if use_cache:
        result.cache_path = cache_path
        # Unchanged: every file stored found by its stat signature, and no other.
        stored = own.count if own is not None else 0
        result.dirty = bool(to_parse) or unchanged != stored or result.from_cache != unchanged
    return result


def _from_cache(
    entries: list[Entry],
    result: ParseResult,
    own: parsecache.Stored | None,
    known: parsecache.Stored | None,
) -> tuple[list[Entry], int]:
    """Add to `result` the PHP files (sorted by rel) whose facts the cache holds: by stat
    signature in this tree's cache `own`, else by content hash in `known` (it, or a
    sibling's). The files to parse, and how many were found by their stat signature."""
    to_parse: list[Entry] = []
    unchanged = 0
    cursor = own.cursor() if own is not None else None
    for entry in entries:
        if entry.size > MAX_FILE_BYTES:
            result.skipped.setdefault("larger than 5 MB", []).append(entry.display)
            continue
        index = cursor.find(entry.rel) if cursor is not None else -1
        found = own.record(index) if own is not None and index >= 0 else None
        if found is not None and entry.stat_bytes is not None:
            signature, key, invalid_utf8, facts = found
            if entry.stat_bytes.startswith(signature):
                result.files.append(ParsedFile(entry, facts, invalid_utf8, key))
                result.from_cache += 1
                unchanged += 1
                continue
        if known is None or not known.count:
            # Nothing a content hash could find: the worker reads, checks and hashes.
            to_parse.append(entry)
            continue
        # Changed stat, or a sibling tree's facts: the same content may be known.
        source, skipped = _read_checked(entry.path)
        if source is None:
            result.skipped.setdefault(skipped or "unreadable", []).append(entry.display)
            continue
        key = _content_key(source)
        hit = known.facts_of(key)
        if hit is None:
            to_parse.append(entry)
            continue
        invalid_utf8 = not source.isascii() and not _is_utf8(source)
        result.files.append(ParsedFile(entry, hit[1], invalid_utf8, key))
        result.from_cache += 1
    return to_parse, unchanged


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _parse_many(
    entries: list[Entry], workers: int | None, *, want_key: bool, use_php: bool
) -> dict[str, Outcome]:
    if not entries:
        return {}
    # A process per CPU, each with enough files to be worth its start.
    count = min(workers or _usable_cpus(), len(entries) // (PARALLEL_THRESHOLD // 2))
    if count <= 1 or len(entries) < PARALLEL_THRESHOLD:
        return dict(_parse_path((e.path, want_key, use_php)) for e in entries)
    # Biggest first so that no process is left with one large file at the end.
    ordered = sorted(entries, key=lambda e: e.st.st_size if e.st is not None else 0, reverse=True)
    jobs = [(e.path, want_key, use_php) for e in ordered]
    try:
        return dict(map_forked(_parse_path, jobs, count, finish=close_outliner))
    except WorkerDied:
        raise PremortemError(
            "a parser worker process died (out of memory or a crash in tree-sitter);"
            " run again with --no-cache, and report the tree if it persists"
        ) from None


def _usable_cpus() -> int:
    """The CPUs this process may run on (a container's cpuset, taskset), not the host's."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
