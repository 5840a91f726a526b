"""The host collector: disk space and inodes, open-file limits of the workers, memory.

For the docroot, the log directories and the temp directory: free bytes and inodes
(``statvfs``, through the Host). For each worker: open descriptors against its soft
RLIMIT_NOFILE (read from /proc/PID/limits through the Host, which works where prlimit() is
refused). Memory available. All read-only.
"""

from __future__ import annotations

import posixpath
from dataclasses import asdict, dataclass, field
from typing import Any

from premortem.host import Host


@dataclass
class DiskUsage:
    path: str
    total_bytes: int
    free_bytes: int
    total_inodes: int
    free_inodes: int

    @property
    def free_fraction(self) -> float:
        return self.free_bytes / self.total_bytes if self.total_bytes else 1.0

    @property
    def free_inode_fraction(self) -> float:
        return self.free_inodes / self.total_inodes if self.total_inodes else 1.0


@dataclass
class WorkerFds:
    """A worker's soft RLIMIT_NOFILE and its open descriptors (None: may not be counted)."""

    pid: int
    open_fds: int | None
    soft_limit: int


@dataclass
class HostEvidence:
    disks: list[DiskUsage] = field(default_factory=list)
    workers: list[WorkerFds] = field(default_factory=list)
    memory_total: int = 0
    memory_available: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def collect_host(paths: list[str], worker_pids: list[int], host: Host) -> HostEvidence:
    evidence = HostEvidence()
    seen_devices: set[int] = set()
    for path in paths:
        existing = _existing_ancestor(path, host)
        space = host.disk_usage(existing) if existing is not None else None
        if existing is None or space is None or space.device in seen_devices:
            continue
        seen_devices.add(space.device)
        evidence.disks.append(
            DiskUsage(
                path=existing,
                total_bytes=space.total_bytes,
                free_bytes=space.free_bytes,
                total_inodes=space.total_inodes,
                free_inodes=space.free_inodes,
            )
        )
    for pid in worker_pids:
        if (use := host.descriptors(pid)) is not None:
            evidence.workers.append(WorkerFds(pid, use.open_fds, use.soft_limit))
    evidence.memory_total, evidence.memory_available = host.memory()
    return evidence


def _existing_ancestor(path: str, host: Host) -> str | None:
    if not path.startswith("/"):
        return None
    current = posixpath.normpath(path)
    while current and not host.exists(current):
        parent = posixpath.dirname(current)
        if parent == current:
            return None
        current = parent
    return current or None
