"""Walk a release tree once and record every entry the rules look at.

Bad input never stops the walk: unreadable directories, dangling symlinks and symlink
loops are recorded as entries with a problem, and non-UTF-8 names are kept (as surrogate
escapes) for file operations and shown with their undecodable bytes as `\\xNN`.
Symlinked directories are followed once (the web server follows them too: Debian's
DokuWiki links lib/plugins to /var/lib/dokuwiki); a directory already visited through
another path is not walked again, which also ends loops, and a link to an ancestor of
the root is recorded, not walked.
"""

from __future__ import annotations

import errno
import os
import stat
import struct
from dataclasses import dataclass, field
from typing import NamedTuple

from premortem.errors import PremortemError

PHP_EXTENSIONS = (".php", ".inc", ".phtml", ".php5", ".php7", ".php8")
# Version-control metadata: reported by exposed-source, never walked into.
NOT_WALKED = frozenset({".git", ".svn", ".hg", ".bzr"})


class Stat(NamedTuple):
    """What the rules and the caches use of an entry's os.stat_result."""

    st_size: int
    st_mtime_ns: int
    st_ctime_ns: int
    st_ino: int
    st_dev: int
    st_mode: int
    st_uid: int
    st_gid: int


# An entry's stat, packed: a tree of a million files keeps a million of them (an
# os.stat_result and its int and float objects are about 600 bytes, this is 85).
_STAT = struct.Struct("=qqqQQIII")
STAT_SIGNATURE_BYTES = 40  # size, mtime_ns, ctime_ns, ino, dev: the parse cache's signature


_NS_MIN, _NS_MAX = -(2**63), 2**63 - 1


def pack_stat(st: os.stat_result | Stat) -> bytes:
    """The 52-byte form of `st` that entries keep (see Entry.stat_bytes).

    Times past 2262 (`touch -d 2300-01-01`) do not fit 64 bits of nanoseconds: they are
    kept as the latest time that does (the ctime, which no user sets, still changes).
    """
    return _STAT.pack(
        st.st_size,
        min(max(st.st_mtime_ns, _NS_MIN), _NS_MAX),
        min(max(st.st_ctime_ns, _NS_MIN), _NS_MAX),
        st.st_ino,
        st.st_dev,
        st.st_mode,
        st.st_uid,
        st.st_gid,
    )


class Entry:
    """One path in the tree. `st` is the stat of the target (None if it cannot be stat'ed).

    Slotted, with the stat packed: a tree of a million small files keeps a million.
    """

    __slots__ = ("_odd", "kind", "path", "rel", "stat_bytes")

    def __init__(
        self,
        rel: str,
        path: str,
        kind: str,  # "file" | "dir" | "other"
        st: os.stat_result | Stat | None,
        is_link: bool = False,
        link_target: str | None = None,
        # "dangling", "loop", "escapes" (target outside the tree), or None
        link_problem: str | None = None,
        # Reading the directory failed (e.g. permission denied): the message.
        error: str | None = None,
    ) -> None:
        self.rel = rel
        self.path = path
        self.kind = kind
        # The stat packed by pack_stat (None if it cannot be stat'ed): compared and
        # hashed as is by the caches.
        self.stat_bytes: bytes | None = None if st is None else pack_stat(st)
        # (is_link, link_target, link_problem, error), None for a plain entry: a slot for
        # the few links and unreadable directories, not four for every entry.
        self._odd: tuple[bool, str | None, str | None, str | None] | None = None
        if is_link or link_target is not None or link_problem is not None or error is not None:
            self._odd = (is_link, link_target, link_problem, error)

    def _set(self, link_problem: str | None, error: str | None) -> None:
        self._odd = (self.is_link, self.link_target, link_problem, error)

    @property
    def is_link(self) -> bool:
        return self._odd is not None and self._odd[0]

    @property
    def link_target(self) -> str | None:
        return None if self._odd is None else self._odd[1]

    @property
    def link_problem(self) -> str | None:
        return None if self._odd is None else self._odd[2]

    @link_problem.setter
    def link_problem(self, value: str | None) -> None:
        self._set(value, self.error)

    @property
    def error(self) -> str | None:
        return None if self._odd is None else self._odd[3]

    @error.setter
    def error(self, value: str | None) -> None:
        self._set(self.link_problem, value)

    @property
    def st(self) -> Stat | None:
        return None if self.stat_bytes is None else Stat._make(_STAT.unpack(self.stat_bytes))

    @property
    def size(self) -> int:
        """The target's size in bytes (0 if it cannot be stat'ed)."""
        return 0 if self.stat_bytes is None else int.from_bytes(self.stat_bytes[:8], "little")

    @property
    def display(self) -> str:
        return display_path(self.rel)

    @property
    def is_php(self) -> bool:
        return self.kind == "file" and self.rel.lower().endswith(PHP_EXTENSIONS)

    def __repr__(self) -> str:
        return (
            f"Entry(rel={self.rel!r}, kind={self.kind!r}, st={self.st!r}, "
            f"is_link={self.is_link!r}, link_target={self.link_target!r}, "
            f"link_problem={self.link_problem!r}, error={self.error!r})"
        )


@dataclass
class Tree:
    root: str  # as given, absolute and normalised
    root_real: str
    entries: list[Entry] = field(default_factory=list)
    _by_path: dict[str, Entry] | None = field(default=None, init=False, repr=False, compare=False)

    def php_files(self) -> list[Entry]:
        return [e for e in self.entries if e.is_php]

    def entry_at(self, path: str) -> Entry | None:
        """The entry walked at exactly this path (as the walk spelt it), if any.

        What the walk already stat'ed need not be asked of the file system again; a path
        not found here may still exist (spelt another way, or where the walk did not go).
        """
        if self._by_path is None or len(self._by_path) != len(self.entries):
            self._by_path = {e.path: e for e in self.entries}
        return self._by_path.get(path)


# Control characters in a name (a newline, ESC starting a terminal sequence) shown escaped.
_CONTROLS = {code: f"\\x{code:02x}" for code in [*range(0x20), *range(0x7F, 0xA0)]}


def printable(text: str) -> str:
    """`text` safe to print and unambiguous: each byte that was not UTF-8 (kept by
    os.fsdecode as a surrogate escape) shown as `\\xNN`, so that two names differing in
    such bytes print differently (U+FFFD made them alike) and output encodes in any UTF-8
    locale; valid text is returned as is."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return text


def display_path(path: str) -> str:
    """A path safe to print: bytes that are not UTF-8 and control characters as `\\xNN`
    (`caf\\xe9.php`: the Latin-1 name); a UTF-8 name as is."""
    shown = printable(path)
    if shown.isprintable():
        return shown
    return shown.translate(_CONTROLS)


def is_within(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def walk_tree(root: str) -> Tree:
    """All entries under `root`. Raises PremortemError only if root itself is unusable."""
    root = os.path.normpath(os.path.abspath(root))
    try:
        st = os.stat(root)
    except (FileNotFoundError, ValueError):  # ValueError: a NUL byte, which no name holds
        raise PremortemError(f"{display_path(root)}: no such file or directory") from None
    except OSError as exc:
        raise PremortemError(f"{display_path(root)}: cannot access: {exc.strerror}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise PremortemError(f"{display_path(root)}: not a directory (give the site's root)")
    if not os.access(root, os.R_OK | os.X_OK):
        raise PremortemError(
            f"{display_path(root)}: cannot read this directory (permission denied)"
        )
    root_real = os.path.realpath(root)
    tree = Tree(root=root, root_real=root_real)
    visited: set[tuple[int, int]] = {(st.st_dev, st.st_ino)}
    stack: list[tuple[str, str]] = [(root, "")]
    while stack:
        directory, rel_dir = stack.pop()
        try:
            with os.scandir(directory) as iterator:
                children = sorted(iterator, key=lambda d: d.name)
        except OSError as exc:
            for entry in tree.entries:
                if entry.path == directory:
                    entry.error = exc.strerror or str(exc)
            continue
        subdirs: list[tuple[str, str]] = []
        for child in children:
            rel = f"{rel_dir}/{child.name}" if rel_dir else child.name
            entry = _entry_of(child, rel, root_real)
            tree.entries.append(entry)
            if entry.kind != "dir" or child.name in NOT_WALKED or entry.st is None:
                continue
            if entry.link_problem == "escapes" and is_within(
                root_real, os.path.realpath(child.path)
            ):
                continue  # a link to an ancestor (or /) would walk the whole file system
            key = (entry.st.st_dev, entry.st.st_ino)
            if key in visited:
                # Already walked through another path; a loop only if it leads to an
                # ancestor of the link itself (a -> .. ).
                if entry.is_link and is_within(
                    os.path.realpath(directory), os.path.realpath(child.path)
                ):
                    entry.link_problem = "loop"
                continue
            visited.add(key)
            if not os.access(child.path, os.R_OK | os.X_OK):
                entry.error = "permission denied"
                continue
            subdirs.append((child.path, rel))
        stack.extend(reversed(subdirs))
    return tree


def _entry_of(child: os.DirEntry[str], rel: str, root_real: str) -> Entry:
    is_link = child.is_symlink()
    link_target: str | None = None
    link_problem: str | None = None
    st: os.stat_result | None
    if is_link:
        try:
            link_target = os.readlink(child.path)
        except OSError:
            link_target = None
    try:
        st = os.stat(child.path)
    except OSError as exc:
        st = None
        if is_link:
            link_problem = "loop" if exc.errno == errno.ELOOP else "dangling"
    if is_link and st is not None and not is_within(os.path.realpath(child.path), root_real):
        link_problem = "escapes"
    if st is None:
        kind = "other"
    elif stat.S_ISDIR(st.st_mode):
        kind = "dir"
    elif stat.S_ISREG(st.st_mode):
        kind = "file"
    else:
        kind = "other"
    return Entry(
        rel=rel,
        path=child.path,
        kind=kind,
        st=st,
        is_link=is_link,
        link_target=link_target,
        link_problem=link_problem,
    )
