"""`premortem fleet diagnose`: `premortem diagnose` on every web host at once, merged.

    from premortem.ops.fleet.diagnose import diagnose_fleet
    result = diagnose_fleet("http://lb.example/", Path("inventory.ini"))
    result.failing            # the hosts whose own server fails
    result.to_json()          # {"hosts": [{name, status, findings, ...}], "summary": {...}}

Each host is diagnosed by its own premortem, against its own web server (its address, not the
balancer's), all hosts at once through Ansible's forks (playbooks/diagnose.yml): a bad host
behind a balancer answers only its share of the requests, and only on that host can strace
and the logs say why. Meanwhile a bounded sample of requests goes through the balancer, and
HAProxy's per-server counters (its runtime API, when the socket is on this machine) say which
server answered the failures: the share of the balancer's traffic that fails.

The merge is pure (`merge_reports`): per host healthy|failing|unknown with its root cause as
file:line, and what the failing hosts have in common (the same root cause, the same file
changed since the deploy, only on them). Read-only from start to end.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from premortem.errors import ExitStatus, PremortemError
from premortem.ops.fleet.ansible import (
    Progress,
    inventory_vars,
    playbook_failures,
    run_playbook,
)
from premortem.ops.fleet.playbooks.library import premortem_haproxy as runtime

SAMPLE_REQUESTS = 30  # sent through the balancer: enough to see one host in three fail


@dataclass
class HostDiagnosis:
    """One host's `premortem diagnose --format json`, condensed."""

    name: str
    status: str  # healthy | failing | unknown (could not diagnose)
    url: str = ""
    exit_code: int | None = None
    findings: list[dict[str, Any]] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # files changed since the last deploy
    could_not_see: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def root_cause(self) -> dict[str, Any] | None:
        return self.findings[0] if self.findings else None

    @property
    def where(self) -> str:
        """The root cause's file:line (or its rule when it has no file)."""
        cause = self.root_cause
        if cause is None:
            return ""
        if cause.get("file"):
            line = cause.get("line")
            return f"{cause['file']}:{line}" if line else str(cause["file"])
        return str(cause.get("rule", ""))

    def to_dict(self) -> dict[str, Any]:
        cause = self.root_cause
        return {
            "name": self.name,
            "status": self.status,
            "url": self.url,
            "exit_code": self.exit_code,
            "root_cause": (
                {"rule": cause.get("rule"), "where": self.where, "message": cause.get("message")}
                if cause
                else None
            ),
            "findings": self.findings,
            "changed": self.changed,
            "could_not_see": self.could_not_see,
            "error": self.error,
        }


@dataclass
class BalancerSample:
    """Requests sent through the balancer, and (from HAProxy) which server answered what."""

    url: str
    sent: int = 0
    failed: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    # server -> {"responses", "errors", "status"} over the sample (HAProxy's counters)
    servers: dict[str, dict[str, Any]] = field(default_factory=dict)
    note: str = ""  # why HAProxy's counters are missing, when they are

    @property
    def share(self) -> float:
        return self.failed / self.sent if self.sent else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "sent": self.sent,
            "failed": self.failed,
            "failed_share": round(self.share, 3),
            "statuses": self.statuses,
            "servers": self.servers,
            "note": self.note,
        }


@dataclass
class FleetDiagnosis:
    url: str
    hosts: list[HostDiagnosis]
    balancer: BalancerSample | None = None
    seconds: float = 0.0

    @property
    def failing(self) -> list[HostDiagnosis]:
        return [h for h in self.hosts if h.status == "failing"]

    @property
    def healthy(self) -> list[HostDiagnosis]:
        return [h for h in self.hosts if h.status == "healthy"]

    @property
    def unknown(self) -> list[HostDiagnosis]:
        return [h for h in self.hosts if h.status == "unknown"]

    @property
    def exit_code(self) -> ExitStatus:
        """PROBLEMS when a host fails, ERROR when one could not be diagnosed, else OK."""
        if self.failing:
            return ExitStatus.PROBLEMS
        if self.unknown or not self.hosts:
            return ExitStatus.ERROR
        return ExitStatus.OK

    @property
    def common(self) -> list[str]:
        return common_ground(self.hosts)

    def summary(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "hosts": len(self.hosts),
            "failing": [h.name for h in self.failing],
            "healthy": [h.name for h in self.healthy],
            "unknown": [h.name for h in self.unknown],
            "root_causes": {h.name: h.where for h in self.failing},
            "common": self.common,
            "balancer": self.balancer.to_dict() if self.balancer else None,
            "seconds": round(self.seconds, 2),
        }

    def to_json(self) -> dict[str, Any]:
        return {"hosts": [h.to_dict() for h in self.hosts], "summary": self.summary()}


# -- the merge (pure) ----------------------------------------------------------------------


def host_from_report(name: str, report: dict[str, Any] | None, error: str = "") -> HostDiagnosis:
    """A host's report (diagnose.yml: name, url, rc, diagnosis) as a HostDiagnosis."""
    if not report:
        return HostDiagnosis(name, "unknown", error=error or "no report (see Ansible's output)")
    url = str(report.get("url", ""))
    diagnosis = report.get("diagnosis")
    rc = report.get("rc")
    if not isinstance(diagnosis, dict):
        return HostDiagnosis(
            name, "unknown", url, rc, error=error or f"premortem diagnose exited {rc}"
        )
    findings = [f for f in diagnosis.get("findings") or [] if isinstance(f, dict)]
    status = str(diagnosis.get("status", ""))
    changes = (diagnosis.get("evidence") or {}).get("changes") or {}
    changed = [str(c.get("path")) for c in changes.get("changed") or [] if isinstance(c, dict)]
    host = HostDiagnosis(
        name,
        "healthy",
        url,
        diagnosis.get("exit_code", rc),
        findings,
        changed,
        [str(s) for s in diagnosis.get("could_not_see") or []],
    )
    errors = [f for f in findings if f.get("severity") == "error"]
    if status in ("failing", "degraded") or errors:
        host.status = "failing"
    elif status != "healthy":
        host.status, host.error = "unknown", f"diagnose says {status or 'nothing'}"
    return host


def merge_reports(
    url: str,
    order: list[str],
    reports: dict[str, dict[str, Any]],
    errors: dict[str, str] | None = None,
    balancer: BalancerSample | None = None,
    seconds: float = 0.0,
) -> FleetDiagnosis:
    """Every host of `order` from its report (or the reason it has none)."""
    errors = errors or {}
    hosts = [host_from_report(name, reports.get(name), errors.get(name, "")) for name in order]
    return FleetDiagnosis(url, hosts, balancer, seconds)


def common_ground(hosts: list[HostDiagnosis]) -> list[str]:
    """What the failing hosts share, and what sets them apart from the healthy ones."""
    failing = [h for h in hosts if h.status == "failing"]
    healthy = [h for h in hosts if h.status == "healthy"]
    if not failing:
        return []
    said: list[str] = []
    causes = Counter(h.where for h in failing if h.where)
    for where, count in causes.most_common():
        names = ", ".join(h.name for h in failing if h.where == where)
        rule = next(h.root_cause.get("rule") for h in failing if h.where == where and h.root_cause)
        if count == len(failing) and count > 1:
            said.append(f"the same root cause on every failing host: {rule} {where}")
        elif len(causes) > 1 or count > 1:
            said.append(f"{rule} {where} on {names}")
    shared = set.intersection(*(set(h.changed) for h in failing))
    for path in sorted(shared):
        on_healthy = [h.name for h in healthy if path in h.changed]
        where = "every failing host" if len(failing) > 1 else failing[0].name
        if not on_healthy:
            said.append(
                f"{path} changed since the last deploy on {where} only: a change on the "
                "host, not in the release the others run"
            )
        else:
            said.append(f"{path} changed since the last deploy on {where} and on "
                        f"{', '.join(on_healthy)} (healthy)")  # fmt: skip
    if healthy:
        said.append(f"healthy: {', '.join(h.name for h in healthy)}")
    return said


# -- the balancer's traffic ------------------------------------------------------------------


def _server_counters(socket: str, backend: str) -> dict[str, runtime.ServerStats]:
    stats = runtime.parse_stats(runtime.runtime_command(socket, "show stat"))
    return {s.server: s for s in stats if s.backend == backend}


def sample_balancer(
    url: str,
    count: int = SAMPLE_REQUESTS,
    socket: str | None = None,
    backend: str = "web",
    clients: int = 3,
) -> BalancerSample:
    """`count` GETs of url (new connections, `clients` at a time); a 5xx or no answer fails.
    With HAProxy's runtime socket: each server's answers and errors over the same time."""
    sample = BalancerSample(url)
    before: dict[str, runtime.ServerStats] = {}
    if socket:
        try:
            before = _server_counters(socket, backend)
        except runtime.RuntimeError_ as exc:
            sample.note, socket = str(exc), None
    statuses: Counter[str] = Counter()
    lock = threading.Lock()
    left = [count]

    def client() -> None:
        with httpx.Client(trust_env=False, timeout=10, follow_redirects=False) as http:
            while True:
                with lock:
                    if left[0] <= 0:
                        return
                    left[0] -= 1
                try:
                    status = str(http.get(url, headers={"Connection": "close"}).status_code)
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                with lock:
                    statuses[status] += 1

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    sample.statuses = dict(sorted(statuses.items()))
    sample.sent = sum(statuses.values())
    sample.failed = sum(n for s, n in statuses.items() if s[:1] not in ("1", "2", "3", "4"))
    after: dict[str, runtime.ServerStats] = {}
    if socket:
        try:
            after = _server_counters(socket, backend)
        except runtime.RuntimeError_ as exc:
            sample.note = str(exc)
    for name, now in after.items():
        was = before.get(name)
        sample.servers[name] = {
            "responses": now.responses - (was.responses if was else 0),
            "errors": now.errors - (was.errors if was else 0),
            "status": now.status,
        }
    return sample


# -- the whole run ---------------------------------------------------------------------------


def _local_socket(variables: dict[str, Any]) -> tuple[str | None, str, str]:
    """HAProxy's runtime socket when it is on this machine, the backend, and why not."""
    socket = variables.get("haproxy_socket")
    backend = str(variables.get("haproxy_backend", "web"))
    lb_host = str(variables.get("lb_host", "localhost"))
    if not socket:
        return None, backend, "no haproxy_socket in the inventory: requests only"
    if lb_host not in ("localhost", "127.0.0.1"):
        return None, backend, f"HAProxy's socket is on {lb_host}: requests only"
    if not Path(str(socket)).exists():
        return None, backend, f"no HAProxy socket at {socket} here: requests only"
    return str(socket), backend, ""


def diagnose_fleet(
    url: str,
    inventory: Path,
    hosts: str | None = None,
    progress: Progress | None = None,
    sample: int = SAMPLE_REQUESTS,
) -> FleetDiagnosis:
    """`premortem diagnose` on every host of the inventory's group `hosts` (default web),
    each against its own server, at once; merged with a sample of the balancer's traffic."""
    started = time.monotonic()
    pattern = hosts or "web"
    found = inventory_vars(inventory, pattern)
    order = list(found)
    variables = found[order[0]]
    socket, backend, note = _local_socket(variables)
    # The sample goes through the balancer while each host's diagnose asks its own server
    # (not through HAProxy): they run at the same time without counting each other.
    sampled: list[BalancerSample] = []
    sampler = threading.Thread(
        target=lambda: sampled.append(sample_balancer(url, sample, socket, backend)),
        daemon=True,
    )
    if sample > 0:
        if progress:
            progress(f"balancer: {sample} requests to {url}")
        sampler.start()
    if progress:
        progress(f"diagnose on {', '.join(order)} (each against its own server)")
    run = run_playbook(
        "diagnose.yml",
        inventory,
        {"balancer_url": url, "premortem_hosts": "all"},  # the hosts: --limit
        limit=order,
        progress=progress,
        forks=len(order),
    )
    balancer: BalancerSample | None = None
    if sample > 0:
        sampler.join(timeout=120)
        balancer = sampled[0] if sampled else BalancerSample(url, note="the sample did not end")
        balancer.note = balancer.note or note
    errors = playbook_failures(run.output)
    return merge_reports(url, order, run.reports, errors, balancer, time.monotonic() - started)


def require_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise PremortemError(f"{url!r} is not an http(s) URL (the balancer's address)")
    if any(mark in url for mark in ("{{", "{%", "{#")):
        # It goes to Ansible as a variable, and Ansible evaluates templates in variables.
        raise PremortemError(f"{url!r}: a URL with {{{{, {{% or {{# is refused")
    return url
