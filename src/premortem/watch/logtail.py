"""Follow an access log like `tail -F`: start at its end, survive rotation and truncation.

- rotation by rename (logrotate's default): the server keeps writing to the renamed file until
  it is reloaded, so the old file is drained before the tail switches to the new one, which is
  read from its first byte;
- truncation (logrotate's copytruncate, `> access.log`): the size drops below the read
  position, so reading starts again at the beginning;
- the file missing (deleted, not created yet, its disk unmounted): no lines, no error; when it
  appears it is read from the start because everything in it is new.

Only whole lines are returned; a line still being written waits for its newline.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

# A bound on one poll's read, so a huge burst cannot stall the watch loop for long.
MAX_READ_BYTES = 8 * 1024 * 1024


class LogTail:
    def __init__(self, path: Path, *, from_start: bool = False) -> None:
        self.path = path
        self._handle: BinaryIO | None = None
        self._identity: tuple[int, int] | None = None
        self._partial = b""
        self.rotations = 0
        self.truncations = 0
        self._open(at_end=not from_start)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def _open(self, *, at_end: bool) -> bool:
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 - kept open across polls
        except OSError:
            return False
        st = os.fstat(handle.fileno())
        if at_end:
            handle.seek(0, os.SEEK_END)
        self.close()
        self._handle = handle
        self._identity = (st.st_dev, st.st_ino)
        self._partial = b""
        return True

    def _read_available(self) -> bytes:
        if self._handle is None:
            return b""
        try:
            return self._handle.read(MAX_READ_BYTES) or b""
        except OSError:
            return b""

    def poll(self) -> list[str]:
        """The complete lines written since the last poll (decoded, without newlines)."""
        # Not there at start or gone since: whatever appears is new.
        if self._handle is None and not self._open(at_end=False):
            return []
        lines = self._split(self._read_available())
        try:
            st = os.stat(self.path)
            current: tuple[int, int] | None = (st.st_dev, st.st_ino)
        except OSError:
            current = None
        assert self._handle is not None
        if current is not None and current != self._identity:
            # Rotated: drain what the server wrote to the old file before it reopened its log;
            # an unterminated last line there is complete (nobody will write to it any more).
            lines += self._split(self._read_available())
            if self._partial:
                lines.append(self._partial.decode("utf-8", errors="replace"))
            self.rotations += 1
            self._open(at_end=False)
            lines += self._split(self._read_available())
        elif current is not None and st.st_size < self._handle.tell():
            self.truncations += 1
            self._partial = b""
            self._handle.seek(0)
            lines += self._split(self._read_available())
        return lines

    def _split(self, data: bytes) -> list[str]:
        if not data:
            return []
        data = self._partial + data
        *lines, self._partial = data.split(b"\n")
        return [line.decode("utf-8", errors="replace").rstrip("\r") for line in lines if line]
