"""Running premortem's playbooks with ansible-playbook (ansible-core, the `fleet` extra).

Each run gets a fresh report directory: the playbooks write one JSON file per host there
(`report_dir`), which is how premortem learns what happened on which host without parsing
Ansible's screen output (that goes to the caller's progress, line by line).
"""

from __future__ import annotations

import json
import os
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
) -> PlaybookRun:
    """ansible-playbook NAME against inventory (only the hosts in limit, when given)."""
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
        env = dict(
            os.environ,
            ANSIBLE_LIBRARY=str(playbook_dir() / "library"),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_RETRY_FILES_ENABLED="0",
            ANSIBLE_HOST_KEY_CHECKING=os.environ.get("ANSIBLE_HOST_KEY_CHECKING", "True"),
        )
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
    proc = subprocess.run(
        [ansible_program("ansible-inventory"), "-i", str(inventory), "--list"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise PremortemError(f"cannot read the inventory {inventory}: {proc.stderr.strip()}")
    groups: dict[str, Any] = json.loads(proc.stdout)
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
