"""The host collector: disk space and inodes, open-file limits of the workers, memory.

For the docroot, the log directories and the temp directory: free bytes and inodes
(``statvfs``). For each worker: open descriptors against its soft RLIMIT_NOFILE (read from
/proc/PID/limits through the Host, which works where prlimit() is refused). Memory
available. All read-only.
"""

from __future__ import annotations

import os
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
        existing = _existing_ancestor(path)
        if existing is None:
            continue
        try:
            device = os.stat(existing).st_dev
            if device in seen_devices:
                continue
            seen_devices.add(device)
            stats = os.statvfs(existing)
        except OSError:
            continue
        evidence.disks.append(
            DiskUsage(
                path=existing,
                total_bytes=stats.f_blocks * stats.f_frsize,
                free_bytes=stats.f_bavail * stats.f_frsize,
                total_inodes=stats.f_files,
                free_inodes=stats.f_favail,
            )
        )
    for pid in worker_pids:
        if (use := host.descriptors(pid)) is not None:
            evidence.workers.append(WorkerFds(pid, use.open_fds, use.soft_limit))
    evidence.memory_total, evidence.memory_available = host.memory()
    return evidence


def _existing_ancestor(path: str) -> str | None:
    current = os.path.abspath(path)
    while current and not os.path.exists(current):
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent
    return current or None
