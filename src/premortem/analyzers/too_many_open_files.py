"""The `too-many-open-files` analyzer of `premortem diagnose` (documented on its class)."""

from __future__ import annotations

from premortem.analyzers._common import failed_calls, fresh_logged
from premortem.analyzers.base import Analyzer
from premortem.collectors import EvidenceSet
from premortem.model import Finding, Fix, Quote

NEAR_LIMIT = 0.9


class TooManyOpenFiles(Analyzer):
    """
    ## What it does
    Looks for `EMFILE`/`ENFILE` in the traced request and `Too many open files` in the
    error-log lines of the incident's window (the minute before the request, or since
    `--since`), so a burst that just ended counts although the replayed request now
    succeeds; it counts those lines. It compares each worker's open descriptors with its
    soft `RLIMIT_NOFILE`, read from `/proc/PID/limits` (a worker at 90% or more of its
    limit is about to fail), and names the lowest limit when descriptors ran out.

    ## Why it breaks sites
    Past the limit every open() fails, so PHP cannot load its includes or sessions and
    Apache cannot accept connections: intermittent 500s that grow with traffic.

    ## Example
    `openat(AT_FDCWD, "/srv/site/wp-load.php", O_RDONLY) = -1 EMFILE (Too many open files)`
    in a worker whose limit is 1024 and which holds 1024 descriptors (a plugin leaking them).

    ## Fix
    Raise the limit (`LimitNOFILE=65536` in the apache2 systemd unit, or `ulimit -n` in
    envvars) and restart; find what leaks descriptors.
    """

    code = "too-many-open-files"
    summary = "workers hit their open-file limit (EMFILE/ENFILE)"

    def analyze(self, evidence: EvidenceSet) -> list[Finding]:
        quotes = failed_calls(evidence, ("EMFILE", "ENFILE"))
        logged, count = fresh_logged(evidence, "Too many open files")
        quotes += logged
        if count > 1:
            quotes.append(
                Quote("log", f"{count} 'Too many open files' lines in the incident's window")
            )
        quotes += _limit_quotes(evidence, failing=bool(quotes))
        if not quotes:
            return []
        sources = {q.source for q in quotes}
        return [
            Finding(
                rule=self.code,
                severity="error" if sources - {"host"} else "warning",
                message="web server workers run out of file descriptors"
                + (f" ({count} errors logged)" if count > 1 else ""),
                confidence=min(0.6 + 0.15 * len(sources), 0.95),
                fix=Fix(
                    description="raise the workers' open-file limit (LimitNOFILE / ulimit -n) and "
                    "restart the server; look for descriptor leaks",
                ),
                evidence=quotes[:6],
            )
        ]


def _limit_quotes(evidence: EvidenceSet, *, failing: bool) -> list[Quote]:
    """Workers at their limit; when descriptors already ran out, the lowest limit too."""
    workers = evidence.host.workers if evidence.host is not None else []
    quotes = [
        Quote(
            "host",
            f"worker {w.pid} holds {w.open_fds} descriptors of its limit {w.soft_limit}",
        )
        for w in workers
        if w.soft_limit > 0 and w.open_fds is not None and w.open_fds >= NEAR_LIMIT * w.soft_limit
    ]
    limited = min(workers, key=lambda w: w.soft_limit, default=None)
    if failing and not quotes and limited is not None:
        quotes.append(
            Quote(
                "host",
                f"worker {limited.pid} may open at most {limited.soft_limit} files "
                "(soft RLIMIT_NOFILE)",
            )
        )
    return quotes
