"""`premortem fleet fix`: the diagnosed fix on every failing host, then the fleet re-probed.

    from premortem.ops.fleet.fix import fix_fleet
    result = fix_fleet("http://lb.example/", Path("inventory.ini"), apply=True)

`diagnose_fleet` first; on the failing hosts only (Ansible's --limit, all at once), their own
`premortem fix --from` (playbooks/fix.yml) applies the fix that diagnosis found there, the way
the single-host fix does: backup, atomic write, re-probe, the backup restored when the site
stays unhealthy. Without apply it is `premortem fix --dry-run` there: the diff each host would get,
nothing written. After applying, `diagnose_fleet` again: every host's status and the
balancer's failed share after the fix.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from premortem.errors import ExitStatus
from premortem.ops.fleet.ansible import Progress, playbook_failures, run_playbook
from premortem.ops.fleet.diagnose import FleetDiagnosis, diagnose_fleet


@dataclass
class HostFix:
    name: str
    cause: str  # the root cause fleet diagnose found (rule file:line)
    outcome: str  # fixed | not-fixed | would-fix | nothing-to-change | could-not
    rc: int | None = None
    diff: str = ""  # the change (secrets redacted by premortem fix on the host)
    message: str = ""  # premortem fix's last word (or why it did not run)
    status_after: str = ""  # healthy | failing | unknown after the fix (fleet re-probe)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "cause": self.cause,
            "outcome": self.outcome,
            "exit_code": self.rc,
            "diff": self.diff,
            "message": self.message,
            "status_after": self.status_after,
        }


@dataclass
class FleetFix:
    applied: bool
    before: FleetDiagnosis
    hosts: list[HostFix] = field(default_factory=list)
    after: FleetDiagnosis | None = None
    seconds: float = 0.0

    @property
    def exit_code(self) -> ExitStatus:
        """OK: every host healthy (after the fix, or a dry run that found what to do);
        PROBLEMS: a host still fails; ERROR: a host could not be diagnosed or fixed."""
        final = self.after or self.before
        if not self.applied:
            if any(h.outcome == "could-not" for h in self.hosts) or final.unknown:
                return ExitStatus.ERROR
            return ExitStatus.OK
        if final.failing:
            return ExitStatus.PROBLEMS
        return ExitStatus.ERROR if final.unknown else ExitStatus.OK

    def to_json(self) -> dict[str, Any]:
        return {
            "applied": self.applied,
            "hosts": [h.to_dict() for h in self.hosts],
            "before": self.before.to_json(),
            "after": self.after.to_json() if self.after else None,
            "seconds": round(self.seconds, 2),
        }


def host_fix(name: str, cause: str, report: dict[str, Any] | None, applied: bool) -> HostFix:
    """One host's fix.yml report (name, rc, stdout, stderr) as a HostFix."""
    if not report:
        return HostFix(name, cause, "could-not", message="no report (see Ansible's output)")
    rc = report.get("rc")
    stdout = str(report.get("stdout") or "")
    stderr = str(report.get("stderr") or "")
    lines = [line for line in stdout.splitlines() if line.strip()]
    ends = ("fixed", "not fixed", "nothing to change")
    last_word = next((i for i, line in enumerate(lines) if line.startswith(ends)), len(lines))
    diff = "\n".join(lines[:last_word])
    message = " ".join(lines[last_word:])
    last = [line.removeprefix("premortem: ") for line in stderr.splitlines() if line.strip()]
    if "nothing to change" in stdout:
        outcome, message = "nothing-to-change", "nothing to change: the fix is already applied"
    elif rc == 0:
        outcome = "fixed" if applied else "would-fix"
    elif rc == 1:
        outcome = "not-fixed"
    else:
        outcome, diff = "could-not", ""
        message = last[-1] if last else f"premortem fix exited {rc}"
    if not message and last:
        message = last[-1]
    return HostFix(name, cause, outcome, rc if isinstance(rc, int) else None, diff, message)


def fix_fleet(
    url: str,
    inventory: Path,
    hosts: str | None = None,
    apply: bool = False,
    progress: Progress | None = None,
) -> FleetFix:
    """Diagnose the fleet; fix (or, without apply, show the fix for) every failing host."""
    started = time.monotonic()
    before = diagnose_fleet(url, inventory, hosts, progress)
    result = FleetFix(apply, before)
    failing = before.failing
    if not failing:
        result.seconds = time.monotonic() - started
        return result
    names = [h.name for h in failing]
    if progress:
        progress(f"{'fix' if apply else 'dry run of the fix'} on {', '.join(names)}")
    with tempfile.TemporaryDirectory(prefix="premortem-fleet-fix-") as diagnoses:
        # What fleet diagnose found is what each host fixes (premortem fix --from).
        for host in failing:
            found = {"url": host.url, "findings": host.findings}
            (Path(diagnoses) / f"{host.name}.json").write_text(json.dumps(found))
        run = run_playbook(
            "fix.yml",
            inventory,
            {
                "balancer_url": url,
                "premortem_hosts": "all",  # the hosts: --limit
                "fix_apply": apply,
                "diagnoses_dir": diagnoses,
            },
            limit=names,
            progress=progress,
            forks=len(names),
        )
    errors = playbook_failures(run.output)
    for host in failing:
        cause = f"{(host.root_cause or {}).get('rule', '')} {host.where}".strip()
        fixed = host_fix(host.name, cause, run.reports.get(host.name), apply)
        if fixed.outcome == "could-not" and host.name in errors:
            fixed.message = errors[host.name]
        result.hosts.append(fixed)
    if apply:
        result.after = diagnose_fleet(url, inventory, hosts, progress)
        status = {h.name: h.status for h in result.after.hosts}
        for fixed in result.hosts:
            fixed.status_after = status.get(fixed.name, "unknown")
    result.seconds = time.monotonic() - started
    return result
