"""Verify production after a switch: probes plus the access log's 5xx rate over a short window.

Two signals, because each misses something. Probes (the smoke paths, every `interval`
seconds) see the pages premortem knows about; the access log sees what real users request.
Verification fails as soon as two probe rounds in a row have a path answering >= 500 (or not
answering, or answering a page that lost its body: empty, no `<html`, under a tenth of what
the previous release served for it), or when, with at least `min_requests` new access-log
lines, the share of 5xx exceeds `max_error_rate` (lines read in the site's format; of a
shared log, only the site's). Failing fast matters: every second here is an outage for users.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from premortem.accesslog import SiteLog
from premortem.collectors.target import Target, site_client
from premortem.ops.deploy.stage import (
    PROBE_AGENT,
    PROBE_HEADERS,
    SmokeResult,
    good_page_sizes,
    smoke_request,
)


@dataclass
class VerifyResult:
    ok: bool
    seconds: float
    probes: int = 0
    failed_probes: int = 0
    log_requests: int = 0
    log_errors: int = 0
    reason: str = ""
    failures: list[SmokeResult] = field(default_factory=list)
    # Body bytes per smoke path of the last good answer: what the next deploy compares with.
    sizes: dict[str, int] = field(default_factory=dict)

    @property
    def error_rate(self) -> float:
        return self.log_errors / self.log_requests if self.log_requests else 0.0


def access_log_offset(path: str) -> int:
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0


def count_statuses(path: str, offset: int, site_log: SiteLog | None = None) -> tuple[int, int, int]:
    """(requests, 5xx, new offset) for complete lines written after `offset`, leaving out
    premortem's own probes (their User-Agent is PROBE_AGENT): what users were served.
    `site_log`: the log's format and, for a shared log, the site's lines (default combined)."""
    parse = (site_log or SiteLog()).parse
    try:
        with open(path, "rb") as log:
            size = log.seek(0, 2)
            if size < offset:
                offset = 0  # rotated or truncated
            log.seek(offset)
            chunk = log.read()
    except OSError:
        return 0, 0, offset
    end = chunk.rfind(b"\n") + 1
    requests = errors = 0
    for line in chunk[:end].decode("utf-8", errors="replace").splitlines():
        record = parse(line) if PROBE_AGENT not in line else None
        if record is not None:
            requests += 1
            errors += record.status >= 500
    return requests, errors, offset + end


def verify_production(
    url: str,
    paths: list[str],
    access_log: str,
    *,
    log_offset: int,
    window: float = 10.0,
    interval: float = 0.5,
    max_error_rate: float = 0.05,
    min_requests: int = 20,
    on_round: Callable[[float, int, int], None] | None = None,
    previous_sizes: dict[str, int] | None = None,
    site_log: SiteLog | None = None,
    ca_file: str = "",
) -> VerifyResult:
    previous_sizes = previous_sizes or {}
    started = time.monotonic()
    result = VerifyResult(ok=True, seconds=0.0)
    failing_rounds = 0
    offset = log_offset
    timeout = min(10.0, max(window, 1.0))
    with site_client(Target(ca_file=ca_file), timeout=timeout, headers=PROBE_HEADERS) as client:
        while True:
            round_failures = []
            for path in paths or ["/"]:
                probe = smoke_request(client, url, path, None, previous_sizes.get(path))
                result.probes += 1
                result.sizes.update(good_page_sizes([probe]))
                if not probe.ok:
                    result.failed_probes += 1
                    round_failures.append(probe)
            failing_rounds = failing_rounds + 1 if round_failures else 0
            result.failures.extend(round_failures)
            if access_log:
                requests, errors, offset = count_statuses(access_log, offset, site_log)
                result.log_requests += requests
                result.log_errors += errors
            elapsed = time.monotonic() - started
            if on_round is not None:
                on_round(elapsed, result.log_requests, result.log_errors)
            if failing_rounds >= 2:
                last = round_failures[0]
                result.ok = False
                result.reason = f"{last.path} answered {last.answer()} in two probe rounds in a row"
                break
            if result.log_requests >= min_requests and result.error_rate > max_error_rate:
                result.ok = False
                result.reason = (
                    f"access log: {result.log_errors} of {result.log_requests} requests answered"
                    f" 5xx ({result.error_rate:.0%} > {max_error_rate:.0%})"
                )
                break
            if elapsed >= window:
                break
            time.sleep(max(0.0, min(interval, window - elapsed)))
    result.seconds = time.monotonic() - started
    return result
