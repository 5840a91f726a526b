"""Property: deploy's hand walk to SRC (ops/deploy/source.py) lands where the kernel's
own lookup does, for any tree of directories, files and links."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from premortem.ops.deploy.source import open_source

NAMES = ("a", "b", "c")
ENTRY_PATHS = ("a", "b", "c", "a/a", "a/b", "b/c", "a/a/b")
LINK_TARGETS = st.sampled_from(
    ["a", "b", "../a", "../../b", ".", "..", "a/..", "b/c", "a/a/b", "x", "/ROOT/a", "/ROOT/b/c"]
)
ENTRIES = st.dictionaries(
    st.sampled_from(ENTRY_PATHS),
    st.one_of(
        st.just(("dir", "")), st.just(("file", "")), st.tuples(st.just("link"), LINK_TARGETS)
    ),
    max_size=6,
)
QUERIES = st.lists(st.sampled_from([*NAMES, "..", "."]), min_size=1, max_size=4)


def _kernel_open(path: str) -> tuple[int, int] | int:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        return exc.errno or 0
    try:
        found = os.fstat(fd)
        return found.st_dev, found.st_ino
    finally:
        os.close(fd)


def _our_open(path: str) -> tuple[int, int] | int:
    try:
        source = open_source(Path(path))
    except OSError as exc:
        return exc.errno or 0
    try:
        found = os.fstat(source.fd)
        return found.st_dev, found.st_ino
    finally:
        source.close()


@given(entries=ENTRIES, query=QUERIES)
# "a/.." is b, where a leads, not the root (the text): a lexical normpath got it wrong.
@example(
    entries={"b": ("dir", ""), "b/c": ("dir", ""), "a": ("link", "b/c")}, query=["a", "..", "c"]
)
def test_the_walk_by_hand_lands_where_the_kernel_does(
    entries: dict[str, tuple[str, str]], query: list[str]
) -> None:
    # The same directory, or the same error (ENOENT, ENOTDIR, ELOOP), for any tree of
    # directories, files and links (relative, absolute, with "..", dangling, looping).
    with tempfile.TemporaryDirectory() as made:
        root = Path(made)
        for rel in sorted(entries, key=lambda p: p.count("/")):
            kind, target = entries[rel]
            where = root / rel
            if not where.parent.is_dir() or where.parent.is_symlink() or os.path.lexists(where):
                continue
            if kind == "dir":
                where.mkdir()
            elif kind == "file":
                where.write_text("x")
            else:
                where.symlink_to(target.replace("/ROOT", str(root)))
        path = os.path.join(str(root), *query)
        assert _our_open(path) == _kernel_open(path)
