"""The deploy lock: one deploy or rollback per site at a time.

The lock is an `fcntl.flock` on `<state_dir>/deploy.lock`. The kernel drops a flock when its
holder dies, even by SIGKILL, so a dead deploy never blocks the next one. The holder also
writes its pid, command and start time into the file: a second deploy that finds the lock held
says who holds it; one that finds the lock free but the file still naming a process reports
that it took over a stale lock (a deploy that died without cleaning up).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import psutil

from premortem.errors import PremortemError
from premortem.ops.deploy.safefs import refuse_untrusted_dir

LOCK_NAME = "deploy.lock"


@dataclass(frozen=True)
class LockHolder:
    pid: int
    command: str
    started: str

    def alive(self) -> bool:
        return psutil.pid_exists(self.pid)


def _read_holder(fd: int) -> LockHolder | None:
    os.lseek(fd, 0, os.SEEK_SET)
    raw = os.read(fd, 4096)
    if not raw.strip():
        return None
    try:
        data = json.loads(raw)
        return LockHolder(int(data["pid"]), str(data["command"]), str(data["started"]))
    except (ValueError, KeyError, TypeError):
        return LockHolder(0, "unknown (unreadable lock file)", "?")


class DeployLock:
    """Context manager: `with DeployLock(state_dir, "deploy 2026...") as lock: ...`."""

    def __init__(self, state_dir: Path, command: str) -> None:
        self.path = state_dir / LOCK_NAME
        self.command = command
        self.stale: LockHolder | None = None
        self._fd: int | None = None

    def acquire(self) -> DeployLock:
        fd = self._open()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            who = f"pid {holder.pid}, {holder.command}, since {holder.started}" if holder else "?"
            raise PremortemError(
                f"another deploy or rollback holds the lock {self.path} ({who}); "
                "wait for it to finish"
            ) from None
        previous = _read_holder(fd)
        if previous is not None:
            # The lock was free yet names a holder: that process died mid-deploy.
            self.stale = previous
        record = {
            "pid": os.getpid(),
            "command": self.command,
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, json.dumps(record).encode())
        os.fsync(fd)
        self._fd = fd
        return self

    def _open(self) -> int:
        """The lock file, never through a symlink: it is truncated and written as root."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PremortemError(
                f"cannot make the state dir {self.path.parent}: {exc.strerror}"
            ) from None
        refuse_untrusted_dir(self.path.parent, "the state dir")
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(self.path, flags, 0o600)
        except OSError as exc:
            why = "it is a symlink (not followed)" if exc.errno == errno.ELOOP else exc.strerror
            raise PremortemError(f"cannot open the deploy lock {self.path}: {why}") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise PremortemError(f"the deploy lock {self.path} is not a regular file")
        return fd

    def release(self) -> None:
        if self._fd is None:
            return
        # Empty the file before unlocking: a named holder in a free lock means "died".
        os.ftruncate(self._fd, 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> DeployLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
