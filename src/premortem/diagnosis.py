"""The diagnosis engine: collect evidence about a failing URL, run the analyzers, rank the causes.

    from premortem.diagnosis import DiagnoseOptions, diagnose
    result = diagnose(DiagnoseOptions(url="http://127.0.0.1:8080/"))
    result.findings[0]          # the root cause (a premortem.model.Finding)
    result.to_dict()            # the JSON contract, secrets redacted

Steps: find the server behind the URL (or read the site config), request the URL once; if
it fails, replay it with strace attached to the server's workers (when allowed), read the
error/access logs around those requests, list recent changes (and lint changed PHP files),
look at the host (disk, descriptors). Every collector is timed and may fail alone: what it
could not see is reported. Analyzers then turn evidence into findings; findings seen by more
sources, and those about recently changed files, rank higher; ``findings[0]`` is the root
cause. Read-only from start to end.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar
from urllib.parse import urlsplit

import psutil

from premortem import registry
from premortem.analyzers._common import wp_config_value
from premortem.collectors import EvidenceSet
from premortem.collectors.changes import collect_changes
from premortem.collectors.database import KnownDatabase, collect_database
from premortem.collectors.files import collect_files, collect_site_files, site_secrets
from premortem.collectors.host import collect_host
from premortem.collectors.http import HttpEvidence, fetch
from premortem.collectors.logs import collect_logs
from premortem.collectors.server import ServerEvidence, collect_server
from premortem.collectors.target import Target, listening_address
from premortem.collectors.tls import collect_tls
from premortem.collectors.trace import (
    TraceEvidence,
    evidence_from_output,
    strace_available,
    trace_while,
)
from premortem.errors import ExitStatus, InputError, PremortemError, UsageError
from premortem.host import Host, LocalHost, RecordedHost
from premortem.model import SEVERITY_ORDER, Finding, Quote
from premortem.redact import Redactor
from premortem.siteconfig import SiteConfig
from premortem.sitelog import site_log_of

T = TypeVar("T")
Progress = Callable[[str], None]
SOURCE_ORDER = ("http", "trace", "log", "config", "changes", "host")


@dataclass
class DiagnoseOptions:
    url: str
    config: SiteConfig | None = None
    trace: bool | None = None  # None: trace when the site fails and tracing is possible
    since: float | None = None
    baseline: str | None = None
    timeout: float = 10.0
    progress: Progress | None = None
    # The machine to look at (None: this one); tests give a RecordedHost.
    host: Host | None = None


@dataclass
class Diagnosis:
    url: str
    # healthy | failing | degraded (answers now, but errors in the incident's window) | unknown
    status: str
    findings: list[Finding]
    evidence: EvidenceSet
    # Every request made, the replay under strace last.
    requests: list[HttpEvidence]
    timings: dict[str, float]
    could_not_see: list[str]
    seconds: float
    redactor: Redactor = field(default_factory=Redactor, repr=False)
    # Collectors and analyzers that failed with a bug (not a limit of what could be seen).
    internal_errors: list[str] = field(default_factory=list)

    @property
    def root_cause(self) -> Finding | None:
        return self.findings[0] if self.findings else None

    @property
    def exit_code(self) -> ExitStatus:
        """OK healthy and nothing wrong, PROBLEMS found, ERROR could not diagnose."""
        errors = [f for f in self.findings if f.severity == "error"]
        if (
            self.status == "failing"
            and not any(f.rule != "http-error" for f in errors)
            and (self.could_not_see or self.internal_errors)
        ):
            return ExitStatus.ERROR
        if errors or self.status in ("failing", "degraded"):
            return ExitStatus.PROBLEMS
        return ExitStatus.OK

    def to_dict(self) -> dict[str, Any]:
        data = {
            "url": self.url,
            "status": self.status,
            "exit_code": self.exit_code,
            "seconds": round(self.seconds, 3),
            "root_cause": self.findings[0].to_dict() if self.findings else None,
            "findings": [f.to_dict() for f in self.findings],
            "evidence": _evidence_dict(self.evidence, self.requests),
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "could_not_see": self.could_not_see,
            "internal_errors": self.internal_errors,
        }
        redacted: dict[str, Any] = self.redactor.redact_data(data)
        return redacted


def diagnose(options: DiagnoseOptions) -> Diagnosis:
    started = time.monotonic()
    port = _checked_port(options)
    run = _Run(options, options.host or LocalHost())
    _locate_server(run, port)
    _collect_tls(run, port)
    run.evidence.files = run.timed(
        "site files",
        lambda: collect_site_files(run.evidence.docroot, run.evidence.web_user, run.host),
    )
    for secret in site_secrets(run.evidence.docroot, run.host):
        run.redactor.add_secret(secret)
    run.evidence.database = run.timed(
        "database",
        lambda: collect_database(
            wp_config_value(run.evidence, "DB_HOST") or "",
            _known_database(options.config),
            run.host,
        ),
    )
    failing = _request_and_trace(run)
    _collect_logs(run)
    _collect_changes(run, failing)
    _collect_host(run)
    # Last: the files every other collector's evidence names (analyzers read no file).
    run.evidence.files = run.timed("files", lambda: collect_files(run.evidence, run.host))
    return _conclude(run, failing, started)


def diagnose_recorded(
    evidence: EvidenceSet, requests: list[HttpEvidence], redactor: Redactor | None = None
) -> Diagnosis:
    """The diagnosis of evidence gathered before (a recording, a test's data): no collector
    runs, only the analyzers and the ranking."""
    started = time.monotonic()
    run = _Run(DiagnoseOptions(url=evidence.url, config=evidence.site), RecordedHost())
    run.evidence, run.requests = evidence, list(requests)
    run.redactor = redactor or run.redactor
    return _conclude(run, evidence.http is None or not evidence.http.healthy, started)


def _conclude(run: _Run, failing: bool, started: float) -> Diagnosis:
    """Analyze what was gathered and rank the findings, the root cause first."""
    evidence, options = run.evidence, run.options
    status = "unknown" if evidence.http is None else ("failing" if failing else "healthy")
    ranked = rank(run_analyzers(evidence, run.timings, run.internal_errors), evidence)
    if status == "failing" and not any(f.severity == "error" for f in ranked):
        ranked += run_analyzers(evidence, run.timings, run.internal_errors, fallback=True)
    if status == "healthy" and any(f.severity == "error" for f in ranked):
        # The URL answers now, but errors of the incident's window (a burst of EMFILE that
        # just ended...) say it is not healthy: status and exit status must agree.
        status = "degraded"
    return Diagnosis(
        url=options.url,
        status=status,
        findings=ranked,
        evidence=evidence,
        requests=run.requests,
        timings=run.timings,
        could_not_see=evidence.could_not_see,
        seconds=time.monotonic() - started,
        redactor=run.redactor,
        internal_errors=run.internal_errors,
    )


# What a collector may fail with that is a limit of what premortem can see, not a bug.
EXPECTED_FAILURES = (PremortemError, OSError, psutil.Error, TimeoutError)


@dataclass
class _Run:
    """One diagnosis in progress: the evidence so far and what gathering it cost."""

    options: DiagnoseOptions
    host: Host
    evidence: EvidenceSet = field(init=False)
    timings: dict[str, float] = field(default_factory=dict)
    requests: list[HttpEvidence] = field(default_factory=list)
    internal_errors: list[str] = field(default_factory=list)
    redactor: Redactor = field(default_factory=Redactor)

    def __post_init__(self) -> None:
        self.evidence = EvidenceSet(url=self.options.url, site=self.options.config)
        if self.options.config is not None:
            self.evidence.web_user = self.options.config.web_user or "www-data"

    @property
    def target(self) -> Target:
        """How to reach the site: an https URL goes to the address its server listens on."""
        server = self.evidence.server
        addresses = [listener.address for listener in server.listeners] if server else []
        ca_file = self.options.config.ca_file if self.options.config else ""
        return Target(address=listening_address(addresses), ca_file=ca_file)

    def timed(self, name: str, action: Callable[[], T]) -> T | None:
        """Run one collector; what it could not see, or a bug in it, is recorded apart."""
        (self.options.progress or (lambda _message: None))(f"{name}…")
        start = time.monotonic()
        try:
            return action()
        except EXPECTED_FAILURES as exc:
            reason = str(exc) if isinstance(exc, PremortemError) else f"{type(exc).__name__}: {exc}"
            self.evidence.could_not_see.append(f"{name}: {reason}")
        except Exception as exc:  # one collector failing must not stop the diagnosis
            self.internal_errors.append(internal_error_text(name, exc))
        finally:
            self.timings[name] = time.monotonic() - start
        return None


def internal_error_text(where: str, exc: BaseException) -> str:
    what = f"{type(exc).__name__}: {exc}"
    return f"internal error in {where} (a bug in premortem, please report): {what}"


def _checked_port(options: DiagnoseOptions) -> int:
    parts = urlsplit(options.url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"not an http(s) URL: {options.url!r} (example: http://127.0.0.1:8080/)")
    if options.since is not None and options.baseline is not None:
        raise UsageError("use either --since or --baseline, not both")
    if options.baseline is not None and not os.path.isdir(options.baseline):
        raise InputError(f"--baseline {options.baseline} is not a directory")
    return parts.port or (443 if parts.scheme == "https" else 80)


def _locate_server(run: _Run, port: int) -> None:
    """Who serves the URL's port, and from that (or the site config) the docroot."""
    config, evidence = run.options.config, run.evidence
    evidence.server = run.timed(
        "server",
        lambda: collect_server(
            port,
            urlsplit(run.options.url).hostname or "127.0.0.1",
            config.server_config if config and config.server_config else None,
            server_hint=config.server if config else None,
            php_fpm_config=(config.php_fpm_config or None) if config else None,
            host=run.host,
        ),
    )
    evidence.docroot = (config.docroot if config else None) or (
        evidence.server.docroot if evidence.server else None
    )
    if evidence.server and evidence.server.worker_users and config is None:
        users = [u for u in evidence.server.worker_users if u != "root"]
        evidence.web_user = next(iter(users), evidence.web_user)


def _collect_tls(run: _Run, port: int) -> None:
    """For an https URL: the certificate files the site's TLS directives name."""
    parts = urlsplit(run.options.url)
    server = run.evidence.server
    site = (server.apache or server.nginx) if server else None
    if parts.scheme != "https" or server is None:
        return
    if site is None or not site.tls:
        run.evidence.could_not_see.append(
            "tls: no certificate directive found for the site in the server's config"
        )
        return
    run.evidence.tls = run.timed(
        "tls",
        lambda: collect_tls(parts.hostname or "", port, server.kind or "", site.tls, run.host),
    )


def _request_and_trace(run: _Run) -> bool:
    """Request the URL once; if it fails, replay it under strace. True when it failed."""
    options, evidence = run.options, run.evidence
    first = run.timed(
        "http", lambda: fetch(options.url, timeout=options.timeout, target=run.target)
    )
    run.requests = [first] if first else []
    evidence.http = first
    failing = first is None or not first.healthy
    want_trace = options.trace if options.trace is not None else failing
    if want_trace and first is not None and first.answered:
        reason = _why_no_trace(evidence, run.host)
        if reason:
            evidence.could_not_see.append(f"trace: {reason}")
        elif (traced := run.timed("trace", lambda: _traced_replay(run))) is not None:
            evidence.http, evidence.trace = traced
            run.requests.append(traced[0])
    elif failing and options.trace is False:
        evidence.could_not_see.append("trace: disabled (--no-trace)")
    elif want_trace and first is not None and not first.answered:
        evidence.could_not_see.append(
            f"trace: nothing to trace, the request was {first.error_kind}"
        )
    return failing


def _collect_logs(run: _Run) -> None:
    evidence, config = run.evidence, run.options.config
    if _php_settings(evidence).get("log_errors", "").lower() in ("off", "0", "false"):
        evidence.could_not_see.append(
            "logs: PHP's log_errors is off for this site, so PHP errors are not logged"
        )
    error_logs = _error_logs(config, evidence)
    access_log = (config.access_log if config and config.access_log else None) or (
        evidence.server.access_log if evidence.server else None
    )
    if not error_logs and not access_log:
        evidence.could_not_see.append("logs: no error or access log found (pass --config)")
        return
    first = run.requests[0] if run.requests else None
    last = run.requests[-1] if run.requests else None
    server = evidence.server
    # The server's own word on its log's format, when the config gives none.
    server_site = (server.apache or server.nginx) if server else None
    evidence.logs = run.timed(
        "logs",
        lambda: collect_logs(
            error_logs,
            access_log,
            request_start=first.started_at if first else run.host.now(),
            request_end=run.host.now(),
            client_port=last.client_port if last else None,
            request_path=urlsplit(run.options.url).path or "/",
            site_log=site_log_of(config, url=run.options.url, server=server_site),
            incident_start=run.options.since,
            host=run.host,
        ),
    )
    if evidence.logs and evidence.logs.unreadable:
        evidence.could_not_see.extend(f"logs: cannot read {u}" for u in evidence.logs.unreadable)


def _collect_changes(run: _Run, failing: bool) -> None:
    evidence, options = run.evidence, run.options
    docroot = evidence.docroot
    if not docroot or run.host.stat(docroot).kind != "dir":
        return
    trace_php = _last_php_loaded(evidence.trace) if failing else []
    evidence.changes = run.timed(
        "changes",
        lambda: collect_changes(
            docroot,
            since=options.since,
            baseline=options.baseline,
            extra_php=trace_php,
            host=run.host,
        ),
    )


def _collect_host(run: _Run) -> None:
    evidence = run.evidence
    db_dirs = evidence.database.run_dirs if evidence.database else []
    access_log = evidence.server.access_log if evidence.server else None
    logs = _error_logs(run.options.config, evidence)
    paths = [p for p in (evidence.docroot, *logs, access_log, "/tmp", *db_dirs) if p]
    workers = evidence.server.worker_pids if evidence.server else []
    if evidence.server and evidence.server.php_fpm:
        workers = [*workers, *evidence.server.php_fpm.worker_pids]
    evidence.host = run.timed("host", lambda: collect_host(paths, workers, run.host))


def run_analyzers(
    evidence: EvidenceSet,
    timings: dict[str, float],
    internal_errors: list[str],
    *,
    fallback: bool = False,
) -> list[Finding]:
    """The findings of every analyzer (or of the fallbacks), each carrying its docs URL."""
    findings: list[Finding] = []
    for analyzer in registry.analyzers():
        if analyzer.fallback != fallback:
            continue
        start = time.monotonic()
        try:
            found = analyzer().analyze(evidence)
        except Exception as exc:  # a broken analyzer must not hide the others' findings
            internal_errors.append(internal_error_text(f"analyzer {analyzer.code}", exc))
            found = []
        findings += [replace(f, docs_url=f.docs_url or analyzer.docs_url()) for f in found]
        timings[f"analyzer:{analyzer.code}"] = time.monotonic() - start
    return findings


def rank(findings: list[Finding], evidence: EvidenceSet) -> list[Finding]:
    """Most likely root cause first: severity, then confidence raised by agreeing sources.

    A finding about a file that changed recently gains that change as evidence and some
    confidence. Returns new findings; the ones given are left as they were.
    """
    changed = evidence.changes.changed if evidence.changes else []
    by_rel = {c.path: c for c in changed}

    def with_change(finding: Finding) -> Finding:
        change = by_rel.get(finding.file or "")
        if change is None or "changes" in finding.sources:
            return replace(finding, evidence=list(finding.evidence))
        return replace(
            finding,
            evidence=[*finding.evidence, Quote("changes", f"{change.path} {change.kind} recently")],
            confidence=min((finding.confidence or 0.5) + 0.1, 0.99),
        )

    def key(finding: Finding) -> tuple[int, float, int]:
        return (
            -SEVERITY_ORDER[finding.severity],
            -(finding.confidence or 0.0),
            -len(finding.sources),
        )

    return sorted((with_change(f) for f in findings), key=key)


def _why_no_trace(evidence: EvidenceSet, host: Host) -> str | None:
    if not host.is_root():
        return "tracing the server's workers needs root (run with sudo); used HTTP, config and logs"
    if not strace_available():
        return "strace is not installed (apt-get install strace)"
    server = evidence.server
    if server is None or not server.worker_pids:
        return "no server worker processes found for the URL's port"
    if server.kind == "nginx" or _php_in_fpm(server):
        fpm = server.php_fpm
        if fpm is None or fpm.master_pid is None:
            return f"{server.kind} serves the URL but no running php-fpm pool behind it was found"
        return None
    if server.kind != "apache":
        return (
            "tracing supports Apache with mod_php and nginx with php-fpm; "
            f"the port is served by {server.kind}"
        )
    return None


def _traced_replay(run: _Run) -> tuple[HttpEvidence, TraceEvidence]:
    evidence, options = run.evidence, run.options
    server = evidence.server
    assert server is not None
    start = time.monotonic()
    healthy_url = _static_url(options.url, evidence.docroot, run.host)

    def replay_both() -> tuple[HttpEvidence, HttpEvidence | None]:
        failing = fetch(options.url, timeout=min(options.timeout, 8.0), target=run.target)
        healthy = fetch(healthy_url, timeout=2.0, target=run.target) if healthy_url else None
        return failing, healthy

    # nginx (and Apache with a proxy_fcgi handler) runs no PHP: the php-fpm pool's workers
    # load the site's scripts.
    fpm = server.php_fpm if _php_in_fpm(server) else None
    master_pid = fpm.master_pid if fpm else server.master_pid
    known_pids = fpm.worker_pids if fpm else server.worker_pids
    for _attempt in range(TRACE_ATTEMPTS):
        # Listed afresh each time: prefork (and php-fpm's pm) recycles and spawns workers;
        # strace -f on the master follows those forked after the attach, not those forked
        # just before it.
        pids = _server_pids(master_pid, run.host) or known_pids
        (replay, healthy), output, traced = trace_while(
            pids, replay_both, max_seconds=max(options.timeout, 3.0) + 2.0
        )
        healthy_port = healthy.client_port if healthy and healthy.status == 200 else None
        trace = evidence_from_output(output, replay.client_port, healthy_port)
        if trace.matched_request:
            break
    trace.attached_pids = traced
    trace.seconds = time.monotonic() - start
    if not trace.matched_request:
        evidence.could_not_see.append(
            "trace: the replayed request was not seen in the trace (served by a worker "
            "that was not traced)"
        )
    return replay, trace


TRACE_ATTEMPTS = 2


def _server_pids(master_pid: int | None, host: Host) -> list[int]:
    if master_pid is None:
        return []
    # An exited child (a zombie) cannot be traced: descendants() leaves them out.
    return [master_pid, *(p.pid for p in host.descendants(master_pid))]


STATIC_CANDIDATES = ("readme.html", "license.txt", "robots.txt", "favicon.ico")


def _static_url(url: str, docroot: str | None, host: Host) -> str | None:
    """A static file of the site to trace as the healthy comparison (served without PHP)."""
    if not docroot:
        return None
    for name in STATIC_CANDIDATES:
        if host.stat(os.path.join(docroot, name)).kind == "file":
            parts = urlsplit(url)
            return f"{parts.scheme}://{parts.netloc}/{name}"
    return None


def _error_logs(config: SiteConfig | None, evidence: EvidenceSet) -> list[str]:
    logs: list[str] = []
    if config and config.error_log:
        logs.append(config.error_log)
    seen = evidence.server.error_log if evidence.server else ""
    if seen and seen not in logs:
        logs.append(seen)
    php_log = _php_settings(evidence).get("error_log")
    if php_log and os.path.isabs(php_log) and php_log not in logs:
        logs.append(php_log)
    # php-fpm's own log: its start-up errors, and the workers' stderr (PHP's messages when
    # the pool has no error_log and catch_workers_output is on).
    fpm = evidence.server.php_fpm if evidence.server else None
    for fpm_log in (
        fpm.error_log if fpm else "",
        config.php_error_log if config else "",
        config.php_fpm_log if config else "",
    ):
        if fpm_log and os.path.isabs(fpm_log) and fpm_log not in logs:
            logs.append(fpm_log)
    # The database server's own log says why it refused a connection or would not start.
    db_log = evidence.database.log_file if evidence.database else ""
    if db_log and db_log not in logs:
        logs.append(db_log)
    return logs


def _php_settings(evidence: EvidenceSet) -> dict[str, str]:
    """PHP's logging settings for the site: the php-fpm pool's (nginx, Apache with a
    proxy_fcgi handler), or mod_php's."""
    server = evidence.server
    if server is None:
        return {}
    if _php_in_fpm(server) and server.php_fpm is not None and server.php_fpm.pool is not None:
        return server.php_fpm.pool.php_settings
    if server.apache is not None:
        return server.apache.php_settings
    return {}


def _php_in_fpm(server: ServerEvidence) -> bool:
    """PHP runs in a php-fpm pool: behind nginx, or behind Apache's proxy_fcgi handler."""
    if server.kind == "nginx":
        return True
    return server.apache is not None and bool(server.apache.fcgi_handlers)


def _known_database(config: SiteConfig | None) -> KnownDatabase | None:
    return KnownDatabase(config.db_socket, config.db_pid_file, config.db_port) if config else None


def _last_php_loaded(trace: TraceEvidence | None) -> list[str]:
    if trace is None:
        return []
    php = [p for p in trace.loaded_files if p.endswith(".php")]
    return list(reversed(php[-3:]))


def _evidence_dict(evidence: EvidenceSet, requests: list[HttpEvidence]) -> dict[str, Any]:
    data: dict[str, Any] = {"requests": [r.to_dict() for r in requests]}
    for name in ("server", "tls", "logs", "trace", "changes", "host", "database"):
        collected = getattr(evidence, name)
        if collected is not None:
            data[name] = collected.to_dict()
    return data
