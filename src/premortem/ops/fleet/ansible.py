"""Running premortem's playbooks with ansible-playbook (ansible-core, the `fleet` extra).

Each run gets a fresh report directory: the playbooks write one JSON file per host there
(`report_dir`), which is how premortem learns what happened on which host without parsing
Ansible's screen output (that goes to the caller's progress, line by line).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from premortem.errors import PremortemError

Progress = Callable[[str], None]
MAX_FORKS = 50
# Ansible's settings that make a task one SSH round trip instead of four (each can be
# overridden from the environment): pipelining (the module on ssh's stdin: no temporary
# files, no sftp), one master connection per host kept across tasks and playbook runs, no
# compression (the release archive is gzip already; hosts are near).
SPEED = {
    "ANSIBLE_PIPELINING": "True",
    "ANSIBLE_SSH_ARGS": "-o ControlMaster=auto -o ControlPersist=120s",
}


def playbook_dir() -> Path:
    """Where the playbooks (and their module, library/premortem_haproxy.py) are installed."""
    return Path(str(resources.files("premortem.ops.fleet") / "playbooks"))


def ansible_program(name: str) -> str:
    """ansible-playbook (or ansible-inventory) of this virtualenv, else from PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise PremortemError(
            f"{name} is not installed: `pip install 'premortem[fleet]'` (ansible-core)"
        )
    return found


@dataclass
class PlaybookRun:
    returncode: int
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)
    output: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run_playbook(
    name: str,
    inventory: Path,
    extra_vars: dict[str, Any],
    limit: list[str] | None = None,
    progress: Progress | None = None,
    forks: int | None = None,
) -> PlaybookRun:
    """ansible-playbook NAME against inventory (only the hosts in limit, when given; forks:
    how many hosts at once, Ansible's default 5 when not given)."""
    with tempfile.TemporaryDirectory(prefix="premortem-fleet-") as tmp:
        reports = Path(tmp) / "reports"
        reports.mkdir()
        variables = Path(tmp) / "vars.json"
        variables.write_text(json.dumps({**extra_vars, "report_dir": str(reports)}))
        command = [
            ansible_program("ansible-playbook"),
            "-i",
            str(inventory),
            str(playbook_dir() / name),
            "-e",
            f"@{variables}",
        ]
        if limit:
            command += ["--limit", ",".join(limit)]
        if forks:
            command += ["--forks", str(max(1, min(forks, MAX_FORKS)))]
        env = dict(
            os.environ,
            ANSIBLE_LIBRARY=str(playbook_dir() / "library"),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_RETRY_FILES_ENABLED="0",
            ANSIBLE_HOST_KEY_CHECKING=os.environ.get("ANSIBLE_HOST_KEY_CHECKING", "True"),
        )
        for key, value in SPEED.items():
            env.setdefault(key, value)
        run = PlaybookRun(returncode=0)
        with subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        ) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                run.output.append(line.rstrip())
                if progress and line.strip():
                    progress(f"    {line.rstrip()}")
        run.returncode = proc.returncode
        for path in sorted(reports.glob("*.json")):
            report = json.loads(path.read_text())
            run.reports[path.stem] = report
        return run


def inventory_hosts(inventory: Path, pattern: str = "web") -> list[str]:
    """The hosts of the inventory's group `pattern` (all hosts when there is no such group),
    in the inventory's order."""
    return hosts_in(_inventory_list(inventory), pattern, inventory)


def hosts_in(groups: dict[str, Any], pattern: str, inventory: Path) -> list[str]:
    """The hosts of group `pattern` in `ansible-inventory --list`'s JSON (else every host)."""
    hosts: list[str] = groups.get(pattern, {}).get("hosts", [])
    if not hosts:
        seen: list[str] = []
        for group in groups.values():
            for host in group.get("hosts", []) if isinstance(group, dict) else []:
                if host not in seen:
                    seen.append(host)
        hosts = seen
    if not hosts:
        raise PremortemError(f"the inventory {inventory} has no hosts")
    return hosts


def _inventory_list(inventory: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [ansible_program("ansible-inventory"), "-i", str(inventory), "--list"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise PremortemError(f"cannot read the inventory {inventory}: {proc.stderr.strip()}")
    try:
        data: dict[str, Any] = json.loads(proc.stdout)
    except ValueError:
        raise PremortemError(f"cannot read the inventory {inventory}: not Ansible's JSON") from None
    return data


def inventory_vars(inventory: Path, pattern: str = "web") -> dict[str, dict[str, Any]]:
    """The hosts of group `pattern` (as inventory_hosts) and their variables (group variables
    merged, as Ansible sees them), in the inventory's order."""
    listing = _inventory_list(inventory)
    hostvars = listing.get("_meta", {}).get("hostvars", {})
    names = (
        hosts_in(listing, pattern, inventory)
        if pattern in listing or pattern == "web"  # no group web: every host
        else _pattern_hosts(inventory, pattern)
    )
    return {name: dict(hostvars.get(name) or {}) for name in names}


def _pattern_hosts(inventory: Path, pattern: str) -> list[str]:
    """The hosts an Ansible pattern (web-0[1:2], web:!web-03, a host name) selects."""
    proc = subprocess.run(
        [ansible_program("ansible"), "-i", str(inventory), pattern, "--list-hosts"],
        capture_output=True,
        text=True,
        check=False,
    )
    names = [line.strip() for line in proc.stdout.splitlines()[1:] if line.strip()]
    if proc.returncode != 0 or not names:
        raise PremortemError(f"no host of {inventory} matches {pattern!r}")
    return names


_FAILURE = re.compile(r"^(?:fatal|failed): \[([^\]]+)\]: (UNREACHABLE!|FAILED!) => (.*)$")


def playbook_failures(output: list[str]) -> dict[str, str]:
    """host -> why, from Ansible's screen output ("fatal: [web-02]: UNREACHABLE! => {...}")."""
    found: dict[str, str] = {}
    for line in output:
        match = _FAILURE.match(line.strip())
        if not match:
            continue
        name, kind, rest = match.groups()
        try:
            detail = json.loads(rest)
        except ValueError:
            detail = {}
        msg = str(detail.get("msg", "")).strip() if isinstance(detail, dict) else ""
        what = "unreachable" if kind.startswith("UNREACHABLE") else "failed"
        found.setdefault(name.split(" -> ")[0], f"{what}: {msg}" if msg else what)
    return found
