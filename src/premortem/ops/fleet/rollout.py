"""`premortem fleet deploy|rollback|releases`: rolling deploys across web hosts behind a
load balancer, through Ansible (playbooks/).

deploy: `premortem check` once here (the gate), then the canary and the rest in batches, each
host drained in HAProxy, deployed with `premortem deploy`, put back and watched under real
traffic (deploy.yml). The first failure stops the rollout and rolls back every host already
switched (rollback.yml), newest first; the result names the host and why.
"""

from __future__ import annotations

import json
import os
import secrets
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from premortem.errors import PremortemError
from premortem.ops.deploy.gate import run_gate
from premortem.ops.fleet.ansible import inventory_hosts, run_playbook

Progress = Callable[[str], None]


@dataclass
class FleetDeployOptions:
    canary: int = 1
    batch: int = 1
    check: bool = True
    watch_seconds: float = 10.0
    max_error_rate: float = 0.05
    verify_seconds: float = 5.0
    hosts_pattern: str = "web"


@dataclass
class HostOutcome:
    name: str
    outcome: str  # deployed, failed, rolled-back, untouched
    release: str | None = None
    previous: str | None = None
    watch: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FleetDeployResult:
    outcome: str = "deployed"  # deployed, stopped (gate), rolled-back
    failed_host: str | None = None
    failed_step: str | None = None
    reason: str = ""
    hosts: list[HostOutcome] = field(default_factory=list)
    batches: list[list[str]] = field(default_factory=list)
    rolled_back: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.outcome == "deployed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "failed_host": self.failed_host,
            "failed_step": self.failed_step,
            "reason": self.reason,
            "batches": self.batches,
            "rolled_back": self.rolled_back,
            "hosts": [h.to_dict() for h in self.hosts],
            "seconds": round(self.seconds, 2),
        }


def batches_of(hosts: list[str], canary: int, batch: int) -> list[list[str]]:
    """The canary hosts first, then the rest in batches of `batch`."""
    if canary < 1 or batch < 1:
        raise PremortemError("--canary and --batch are at least 1")
    first, rest = hosts[:canary], hosts[canary:]
    return [first, *(rest[i : i + batch] for i in range(0, len(rest), batch))]


def archive(src: Path, into: Path) -> Path:
    """SRC as a .tar.gz (what the playbook copies to each host), named after the time.

    A random part follows the time: the playbook unpacks into a directory named after the
    archive, and two rollouts started in the same second (two controllers, or two fleet labs
    sharing one /tmp) must not unpack into one another's. It also keeps that /tmp path from
    being guessed ahead by another user of the host.
    """
    name = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(6)
    path = into / f"{name}.tar.gz"
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for entry in sorted(os.listdir(src)):
            tar.add(src / entry, arcname=entry)
    return path


def fleet_deploy(
    src: Path, inventory: Path, options: FleetDeployOptions, progress: Progress
) -> FleetDeployResult:
    started = time.monotonic()
    result = FleetDeployResult()
    if not src.is_dir():
        raise PremortemError(f"{src} is not a directory")
    hosts = inventory_hosts(inventory, options.hosts_pattern)
    result.batches = batches_of(hosts, options.canary, options.batch)
    result.hosts = [HostOutcome(name, "untouched") for name in hosts]
    if options.check:
        gate = run_gate(src, None)
        progress(f"gate: {gate.summary()}")
        if not gate.ok:
            result.outcome, result.failed_step, result.reason = "stopped", "gate", gate.summary()
            result.seconds = time.monotonic() - started
            return result
    with tempfile.TemporaryDirectory(prefix="premortem-release-") as tmp:
        release_archive = archive(src, Path(tmp))
        _roll_out(result, inventory, release_archive, options, progress)
    result.seconds = time.monotonic() - started
    return result


def _roll_out(
    result: FleetDeployResult,
    inventory: Path,
    release_archive: Path,
    options: FleetDeployOptions,
    progress: Progress,
) -> None:
    by_name = {h.name: h for h in result.hosts}
    switched: list[str] = []
    extra = {
        "release_archive": str(release_archive),
        "premortem_hosts": options.hosts_pattern,
        "premortem_serial": 0,  # every host of the batch at once (the batch is the --limit)
        "watch_seconds": options.watch_seconds,
        "max_error_rate": options.max_error_rate,
        "verify_seconds": options.verify_seconds,
    }
    for number, batch in enumerate(result.batches):
        label = "canary" if number == 0 else f"batch {number}"
        progress(f"{label}: {', '.join(batch)}")
        run = run_playbook("deploy.yml", inventory, extra, limit=batch, progress=progress)
        for name in batch:
            report = run.reports.get(name, {})
            _record(by_name[name], report)
            if report.get("ok") or report.get("switched"):
                switched.append(name)
        if not run.ok:
            _stop(result, batch, run.reports, run.output)
            _roll_back(result, inventory, switched, options, progress)
            return


def _record(host: HostOutcome, report: dict[str, Any]) -> None:
    deploy = report.get("deploy")
    if isinstance(deploy, str):
        try:
            deploy = json.loads(deploy) if deploy else None
        except ValueError:
            deploy = None
    if isinstance(deploy, dict):
        host.release, host.previous = deploy.get("release"), deploy.get("previous")
    host.watch = report.get("watch")
    host.outcome = "deployed" if report.get("ok") else "failed" if report else "untouched"


def _stop(
    result: FleetDeployResult,
    batch: list[str],
    reports: dict[str, dict[str, Any]],
    output: list[str],
) -> None:
    """Name the host that failed and why (its report; else Ansible's last lines)."""
    result.outcome = "rolled-back"
    failed = [name for name in batch if not reports.get(name, {}).get("ok")]
    result.failed_host = failed[0] if failed else batch[0]
    report = reports.get(result.failed_host, {})
    result.failed_step = report.get("task") or "ansible"
    reason = report.get("msg") or ""
    if isinstance(report.get("deploy"), str):
        reason = _deploy_reason(report["deploy"]) or reason
    if not reason:
        reason = " / ".join(line for line in output[-6:] if line.strip())
    result.reason = reason


def _deploy_reason(stdout: str) -> str:
    """The reason `premortem deploy --format json` gave, with where it stopped."""
    try:
        data = json.loads(stdout)
    except ValueError:
        return ""
    if not isinstance(data, dict) or data.get("outcome") == "deployed":
        return ""  # it deployed: what failed came after (back in rotation, the watch)
    where = data.get("stopped_at") or data.get("outcome") or ""
    return f"premortem deploy {where}: {data.get('reason') or ''}".strip()


def _roll_back(
    result: FleetDeployResult,
    inventory: Path,
    switched: list[str],
    options: FleetDeployOptions,
    progress: Progress,
) -> None:
    """Every host switched in this rollout back to the release it had before."""
    if not switched:
        progress("no host was switched: nothing to roll back")
        return
    by_name = {h.name: h for h in result.hosts}
    targets = {name: by_name[name].previous for name in switched if by_name[name].previous}
    progress(f"rolling back {', '.join(switched)}")
    run = run_playbook(
        "rollback.yml",
        inventory,
        {
            "premortem_hosts": options.hosts_pattern,
            "rollback_to": targets,
            "verify_seconds": options.verify_seconds,  # the rollout's own window
        },
        limit=list(reversed(switched)),
        progress=progress,
    )
    if not run.ok:
        raise PremortemError(
            f"the rollout failed on {result.failed_host} ({result.reason}) and rolling back "
            f"{', '.join(switched)} failed too: " + " / ".join(run.output[-6:])
        )
    result.rolled_back = switched
    for name in switched:
        by_name[name].outcome = "rolled-back"


def fleet_rollback(inventory: Path, hosts_pattern: str, progress: Progress) -> bool:
    """Every host back to its newest good release before the current one (one at a time)."""
    run = run_playbook(
        "rollback.yml", inventory, {"premortem_hosts": hosts_pattern}, progress=progress
    )
    return run.ok


def fleet_releases(inventory: Path, hosts_pattern: str) -> list[dict[str, Any]]:
    """[{name, releases}] for every host, in the inventory's order."""
    run = run_playbook("releases.yml", inventory, {"premortem_hosts": hosts_pattern})
    if not run.ok:
        raise PremortemError("premortem releases failed on a host: " + " / ".join(run.output[-6:]))
    order = inventory_hosts(inventory, hosts_pattern)
    return [run.reports[name] for name in order if name in run.reports]
