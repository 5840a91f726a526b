"""The parse cache's format: a handful of objects for a whole tree, not a few per file.

A tree of a million files would otherwise pickle, load and compare a million path
strings, tuples and hashes (hundreds of bytes each, and the pickler's memo of them). It is:

- `rels`: the files' paths relative to the tree, sorted, joined with NUL (no name holds one);
- `records`: one RECORD per file, in the same order: its stat signature (walk.pack_stat's
  first STAT_SIGNATURE_BYTES: size, mtime, ctime, inode, device), the BLAKE2 hash of its
  bytes, 1 if it is not valid UTF-8, and the index of its facts in `facts`;
- `facts`: the distinct FileFacts objects (files with equal facts share one).

Files are matched by walking `rels` alongside the tree's files in the same order; a content
hash is looked up by scanning `records` (for the first few files whose stat changed) or
through a dict built once (when many did: a new release checked after its sibling).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any

from premortem.php.syntax import FileFacts
from premortem.php.walk import STAT_SIGNATURE_BYTES

RECORD = struct.Struct(f"={STAT_SIGNATURE_BYTES}s16sBI")
KEY_AT = STAT_SIGNATURE_BYTES  # where a record's content hash starts
# Content hashes looked up by scanning the records before a dict of them is built.
SCANS = 16


class Stored:
    """A tree's parse cache as loaded (see the module's docstring)."""

    def __init__(self, rels: str, records: bytes, facts: list[FileFacts]) -> None:
        self.rels = rels
        self.records = records
        self.facts = facts
        self.count = len(records) // RECORD.size
        self._keys: dict[bytes, int] | None = None
        self._scans = 0

    @classmethod
    def of(cls, data: object) -> Stored | None:
        """The cache held by an unpickled object, if it is one (None for another format)."""
        if not isinstance(data, dict):
            return None
        rels, records, facts = data.get("rels"), data.get("records"), data.get("facts")
        if not (isinstance(rels, str) and isinstance(records, bytes) and isinstance(facts, list)):
            return None
        if (
            len(records) % RECORD.size
            or (rels.count("\0") + 1 if rels else 0) != len(records) // RECORD.size
        ):
            return None
        return cls(rels, records, facts)

    def record(self, index: int) -> tuple[bytes, bytes, bool, FileFacts] | None:
        """(stat signature, content hash, invalid UTF-8, facts) of the index-th file."""
        signature, key, invalid, at = RECORD.unpack_from(self.records, index * RECORD.size)
        if at >= len(self.facts):
            return None
        return signature, key, invalid == 1, self.facts[at]

    def facts_of(self, key: bytes) -> tuple[bool, FileFacts] | None:
        """(invalid UTF-8, facts) of a file whose bytes hash to `key`, if one is known."""
        if self._keys is None and self._scans < SCANS:
            self._scans += 1
            return self._scan(key)
        if self._keys is None:
            self._keys = {}
            for index in range(self.count - 1, -1, -1):  # the first of equal keys wins
                start = index * RECORD.size + KEY_AT
                self._keys[self.records[start : start + 16]] = index
        found = self._keys.get(key)
        return None if found is None else self._found(found)

    def _scan(self, key: bytes) -> tuple[bool, FileFacts] | None:
        at = self.records.find(key)
        while at != -1 and at % RECORD.size != KEY_AT:  # matched across two fields
            at = self.records.find(key, at + 1)
        return None if at == -1 else self._found(at // RECORD.size)

    def _found(self, index: int) -> tuple[bool, FileFacts] | None:
        found = self.record(index)
        return None if found is None else (found[2], found[3])

    def cursor(self) -> Cursor:
        return Cursor(self.rels)


class Cursor:
    """Walks `rels` forward: `find` must be asked in increasing order of paths."""

    def __init__(self, rels: str) -> None:
        self.rels = rels
        self.at = 0
        self.index = 0
        self.current = self._read() if rels else None

    def _read(self) -> str | None:
        if self.at > len(self.rels):
            return None
        end = self.rels.find("\0", self.at)
        if end == -1:
            end = len(self.rels)
        rel = self.rels[self.at : end]
        self.at = end + 1
        return rel

    def find(self, rel: str) -> int:
        """The index of `rel` among the stored files, or -1."""
        while self.current is not None and self.current < rel:
            self.current = self._read()
            self.index += 1
        return self.index if self.current == rel else -1


def pack(files: Iterable[tuple[str, bytes, bytes, bool, FileFacts]]) -> dict[str, Any]:
    """The cache of (rel, stat signature, content hash, invalid UTF-8, facts), sorted by rel."""
    rels: list[str] = []
    records = bytearray()
    facts: list[FileFacts] = []
    index_of: dict[int, int] = {}  # id(facts) -> index in facts
    for rel, signature, key, invalid_utf8, file_facts in files:
        at = index_of.get(id(file_facts))
        if at is None:
            at = index_of[id(file_facts)] = len(facts)
            facts.append(file_facts)
        rels.append(rel)
        records += RECORD.pack(signature, key, 1 if invalid_utf8 else 0, at)
    return {"rels": "\0".join(rels), "records": bytes(records), "facts": facts}
