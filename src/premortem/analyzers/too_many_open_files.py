"""The `too-many-open-files` analyzer of `premortem diagnose` (documented on its class)."""

from __future__ import annotations

from premortem.analyzers._common import failed_calls, first_logged
from premortem.analyzers.base import Analyzer
from premortem.collectors import EvidenceSet
from premortem.model import Finding, Fix, Quote

NEAR_LIMIT = 0.9


class TooManyOpenFiles(Analyzer):
    """
    ## What it does
    Looks for `EMFILE`/`ENFILE` in the traced request, `Too many open files` in the
    error log, and compares each worker's open descriptors with its soft `RLIMIT_NOFILE`
    (a worker at 90% or more of its limit is about to fail).

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
        quotes += first_logged(evidence, "Too many open files")
        if evidence.host is not None:
            for worker in evidence.host.workers:
                if worker.soft_limit > 0 and worker.open_fds >= NEAR_LIMIT * worker.soft_limit:
                    quotes.append(
                        Quote(
                            "host",
                            f"worker {worker.pid} holds {worker.open_fds} descriptors "
                            f"of its limit {worker.soft_limit}",
                        )
                    )
        if not quotes:
            return []
        sources = {q.source for q in quotes}
        return [
            Finding(
                rule=self.code,
                severity="error" if sources - {"host"} else "warning",
                message="web server workers run out of file descriptors",
                confidence=min(0.6 + 0.15 * len(sources), 0.95),
                fix=Fix(
                    description="raise the workers' open-file limit (LimitNOFILE / ulimit -n) and "
                    "restart the server; look for descriptor leaks",
                ),
                evidence=quotes[:6],
            )
        ]
