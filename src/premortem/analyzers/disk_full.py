"""disk-full: a file system the site writes to has no space (or no inodes) left.

What it does:
    Looks for ``ENOSPC``/``EDQUOT`` in the traced request, ``No space left on device`` in
    the error log, and the free space and inodes (statvfs) of the file systems holding the
    docroot, the logs and the temporary directory (below 1% free is critical, below 5% a
    warning).

Why it breaks sites:
    PHP sessions, uploads, caches and logs cannot be written: logins fail, pages answer 500,
    and the error log itself stops recording why.

Example:
    ``openat(AT_FDCWD, "/var/lib/php/sessions/sess_...", O_RDWR|O_CREAT, 0600) = -1 ENOSPC``.

Fix:
    Free space (old releases, rotated logs, caches: ``du -xh / | sort -h | tail``) or grow
    the file system.
"""

from __future__ import annotations

from premortem.analyzers._common import log_quote
from premortem.collectors import EvidenceSet
from premortem.model import Finding, Fix

RULE = "disk-full"
CRITICAL = 0.01
LOW = 0.05


def analyze(evidence: EvidenceSet) -> list[Finding]:
    quotes: list[str] = []
    if evidence.trace is not None:
        for failed in evidence.trace.causes:
            if failed.call.errno in ("ENOSPC", "EDQUOT"):
                quotes.append(f"trace: {failed.call.text}")
    if evidence.logs is not None:
        for line in evidence.logs.request_lines():
            if "No space left on device" in line.message or "Disk quota exceeded" in line.message:
                quotes.append(log_quote(line.raw))
                break
    worst = 1.0
    if evidence.host is not None:
        for disk in evidence.host.disks:
            fraction = min(disk.free_fraction, disk.free_inode_fraction)
            if fraction < LOW:
                worst = min(worst, fraction)
                quotes.append(
                    f"host: {disk.path}: {disk.free_bytes // (1024 * 1024)} MB free "
                    f"({disk.free_fraction:.1%}), {disk.free_inodes} inodes free "
                    f"({disk.free_inode_fraction:.1%})"
                )
    if not quotes:
        return []
    sources = {q.split(":", 1)[0] for q in quotes}
    critical = bool(sources - {"host"}) or worst < CRITICAL
    return [
        Finding(
            rule=RULE,
            severity="error" if critical else "warning",
            message="a file system the site uses is full"
            if critical
            else "a file system the site uses is almost full",
            confidence=min(0.55 + 0.15 * len(sources), 0.95),
            fix=Fix(
                description="free space (old releases, rotated logs, caches) or grow the "
                "file system"
            ),
            evidence=quotes[:6],
        )
    ]
