"""The `disk-full` analyzer of `premortem diagnose` (documented on its class)."""

from __future__ import annotations

from premortem.analyzers._common import failed_calls, file_stat, first_logged
from premortem.analyzers._servers import database_start_command
from premortem.analyzers.base import Analyzer
from premortem.collectors import EvidenceSet
from premortem.model import Finding, Fix, Quote

CRITICAL = 0.01
LOW = 0.05


class DiskFull(Analyzer):
    """
    ## What it does
    Looks for `ENOSPC`/`EDQUOT` in the traced request, `No space left on device` in
    the error logs (the web server's, PHP's and the database server's), and the free space
    and inodes (statvfs) of the file systems holding the docroot, the logs, the temporary
    directory and the database's run directory (below 1% free is critical, below 5% a
    warning). A database that is not running while the file system of its run directory
    (socket, PID file) is full is named as the cause of the failed database connection.

    ## Why it breaks sites
    PHP sessions, uploads, caches and logs cannot be written: logins fail, pages answer 500,
    and the error log itself stops recording why.

    ## Example
    `openat(AT_FDCWD, "/var/lib/php/sessions/sess_...", O_RDWR|O_CREAT, 0600) = -1 ENOSPC`;
    or MariaDB's `Can't start server: can't create PID file: No space left on device` with
    `/run/mysqld` at 0 bytes free and WordPress's "Error establishing a database connection".

    ## Fix
    Free space (old releases, rotated logs, caches: `du -xh / | sort -h | tail`) or grow
    the file system.
    """

    code = "disk-full"
    summary = "a file system the site writes to has no space (or no inodes) left"

    def analyze(self, evidence: EvidenceSet) -> list[Finding]:
        quotes = failed_calls(evidence, ("ENOSPC", "EDQUOT"))
        quotes += first_logged(evidence, "No space left on device", "Disk quota exceeded")
        worst = 1.0
        database_blocked = ""
        db = evidence.database
        if evidence.host is not None:
            for disk in evidence.host.disks:
                fraction = min(disk.free_fraction, disk.free_inode_fraction)
                if fraction < LOW:
                    worst = min(worst, fraction)
                    quotes.append(
                        Quote(
                            "host",
                            f"{disk.path}: {disk.free_bytes // 1024} KB free "
                            f"({disk.free_fraction:.1%}), {disk.free_inodes} inodes free "
                            f"({disk.free_inode_fraction:.1%})",
                        )
                    )
                    if fraction < CRITICAL and db is not None and not db.running:
                        database_blocked = database_blocked or next(
                            (d for d in db.run_dirs if _same_filesystem(d, disk.path, evidence)), ""
                        )
        if not quotes:
            return []
        sources = {q.source for q in quotes}
        critical = bool(sources - {"host"}) or worst < CRITICAL
        confidence = min(0.55 + 0.15 * len(sources), 0.95)
        message = (
            "a file system the site uses is full"
            if critical
            else "a file system the site uses is almost full"
        )
        fix_text = "free space (old releases, rotated logs, caches) or grow the file system"
        if database_blocked:
            start = database_start_command(evidence)
            fix_text = (
                f"free space on the file system of {database_blocked} (df -h {database_blocked}; "
                f"du -xsh {database_blocked}/*) or grow it, then start the database ({start})"
            )
            # The database is down and cannot write its socket/PID file: the full file system
            # is the cause, the failed database connection its consequence.
            quotes.append(
                Quote("host", f"no MariaDB/MySQL server runs; it needs {database_blocked}")
            )
            message = (
                f"the database server is not running and the file system of its run directory "
                f"{database_blocked} is full (it cannot create its PID file or socket)"
            )
            confidence = 0.99
        return [
            Finding(
                rule=self.code,
                severity="error" if critical else "warning",
                message=message,
                confidence=confidence,
                fix=Fix(description=fix_text),
                evidence=quotes[:6],
            )
        ]


def _same_filesystem(path: str, other: str, evidence: EvidenceSet) -> bool:
    one, two = file_stat(path, evidence), file_stat(other, evidence)
    return one is not None and two is not None and one.exists and one.device == two.device
