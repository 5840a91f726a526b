"""The machine premortem looks at: processes, listening sockets, limits, identity and the clock.

Collectors reach the outside world through one `Host` passed down from `main()`, so a test can
hand them a `RecordedHost` (processes and sockets as data) and get the same answer on any
machine, whatever runs on it. `LocalHost` is the real one (psutil, os, time). Read-only.
"""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import psutil


@dataclass(frozen=True)
class ProcessInfo:
    """One process as collectors need it (a zombie has exited: it serves nothing)."""

    pid: int
    ppid: int
    name: str
    cmdline: tuple[str, ...] = ()
    username: str = ""
    zombie: bool = False


@dataclass(frozen=True)
class ListeningSocket:
    """A TCP socket in LISTEN state; `pid` is None when the kernel does not say whose."""

    pid: int | None
    ip: str
    port: int


@dataclass(frozen=True)
class DescriptorUse:
    open_fds: int
    soft_limit: int


class Host(ABC):
    """What collectors may ask of a machine. Every method answers; none raises for a
    process that vanished or that may not be inspected (it answers empty instead)."""

    @abstractmethod
    def processes(self) -> list[ProcessInfo]: ...

    @abstractmethod
    def listening(self) -> list[ListeningSocket]: ...

    @abstractmethod
    def environ(self, pid: int) -> dict[str, str]: ...

    @abstractmethod
    def descriptors(self, pid: int) -> DescriptorUse | None: ...

    @abstractmethod
    def stderr_file(self, pid: int) -> str: ...

    @abstractmethod
    def memory(self) -> tuple[int, int]:
        """(total, available) bytes of memory."""

    @abstractmethod
    def is_root(self) -> bool: ...

    @abstractmethod
    def now(self) -> float: ...

    def process(self, pid: int) -> ProcessInfo | None:
        return next((p for p in self.processes() if p.pid == pid), None)

    def descendants(self, pid: int) -> list[ProcessInfo]:
        """Every living process below `pid` (children, their children...)."""
        by_parent: dict[int, list[ProcessInfo]] = {}
        for proc in self.processes():
            by_parent.setdefault(proc.ppid, []).append(proc)
        found: list[ProcessInfo] = []
        todo = [pid]
        while todo:
            for child in by_parent.get(todo.pop(), []):
                if child.pid not in (p.pid for p in found):
                    found.append(child)
                    todo.append(child.pid)
        return [p for p in found if not p.zombie]

    def top_of_program(self, pid: int) -> ProcessInfo | None:
        """The topmost ancestor of `pid` running the same program: the master of a worker."""
        by_pid = {p.pid: p for p in self.processes()}
        proc = by_pid.get(pid)
        while proc is not None:
            parent = by_pid.get(proc.ppid)
            if parent is None or parent.name != proc.name:
                return proc
            proc = parent
        return None


class LocalHost(Host):
    """This machine, through psutil and os."""

    def processes(self) -> list[ProcessInfo]:
        found = []
        for proc in psutil.process_iter(["ppid", "name", "cmdline", "username", "status"]):
            info = proc.info
            found.append(
                ProcessInfo(
                    pid=proc.pid,
                    ppid=info.get("ppid") or 0,
                    name=info.get("name") or "",
                    cmdline=tuple(info.get("cmdline") or ()),
                    username=info.get("username") or "",
                    zombie=info.get("status") == psutil.STATUS_ZOMBIE,
                )
            )
        return found

    def listening(self) -> list[ListeningSocket]:
        try:
            connections = psutil.net_connections(kind="inet")
        except (psutil.Error, OSError):
            return []
        return [
            ListeningSocket(c.pid, c.laddr.ip, c.laddr.port)
            for c in connections
            if c.status == psutil.CONN_LISTEN and c.laddr
        ]

    def environ(self, pid: int) -> dict[str, str]:
        try:
            return dict(psutil.Process(pid).environ())
        except (psutil.Error, OSError):
            return {}

    def descriptors(self, pid: int) -> DescriptorUse | None:
        try:
            proc = psutil.Process(pid)
            soft, _hard = proc.rlimit(psutil.RLIMIT_NOFILE)
            return DescriptorUse(proc.num_fds(), soft)
        except (psutil.Error, OSError):
            return None

    def stderr_file(self, pid: int) -> str:
        try:
            for opened in psutil.Process(pid).open_files():
                if opened.fd == 2:
                    return str(opened.path)
        except (psutil.Error, OSError):
            return ""
        return ""

    def memory(self) -> tuple[int, int]:
        memory = psutil.virtual_memory()
        return memory.total, memory.available

    def is_root(self) -> bool:
        return os.geteuid() == 0

    def now(self) -> float:
        return time.time()


@dataclass
class RecordedHost(Host):
    """A machine given as data: what tests and recorded evidence replay against."""

    procs: list[ProcessInfo] = field(default_factory=list)
    sockets: list[ListeningSocket] = field(default_factory=list)
    environments: dict[int, dict[str, str]] = field(default_factory=dict)
    fds: dict[int, DescriptorUse] = field(default_factory=dict)
    stderr_files: dict[int, str] = field(default_factory=dict)
    root: bool = False
    clock: float = 1_800_000_000.0
    memory_bytes: tuple[int, int] = (8 << 30, 4 << 30)

    def processes(self) -> list[ProcessInfo]:
        return list(self.procs)

    def listening(self) -> list[ListeningSocket]:
        return list(self.sockets)

    def environ(self, pid: int) -> dict[str, str]:
        return dict(self.environments.get(pid, {}))

    def descriptors(self, pid: int) -> DescriptorUse | None:
        return self.fds.get(pid)

    def stderr_file(self, pid: int) -> str:
        return self.stderr_files.get(pid, "")

    def memory(self) -> tuple[int, int]:
        return self.memory_bytes

    def is_root(self) -> bool:
        return self.root

    def now(self) -> float:
        return self.clock
