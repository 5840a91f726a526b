"""What premortem's Ansible settings (ansible.SPEED: pipelining, a kept master connection, no
compression) save on a fleet lab, against Ansible's own defaults, measured back to back.

    python bench/bench_fleet.py [--dir D] [--rounds 3]

Brings a 3-host fleet lab up (or uses D's, left running), then per round, in both settings:
releases.yml on every host (3 hosts at once: a task's fixed cost), and deploy.yml on web-01
alone (drain, copy, unpack, premortem deploy with --verify-seconds 1, ready, 1 s watch).
Prints the medians of each and `fleet diagnose` on the lab's balancer (the new settings).
A lab it brought up is destroyed at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fleet_helpers import fleet_lab
from premortem.ops.fleet import ansible
from premortem.ops.fleet.diagnose import diagnose_fleet
from premortem.ops.fleet.rollout import archive
from premortem.ops.lab.fleet import Fleet

ANSIBLE_DEFAULTS = {
    "ANSIBLE_PIPELINING": "False",
    "ANSIBLE_SSH_ARGS": "-C -o ControlMaster=auto -o ControlPersist=60s",
}


def _timed(fleet: Fleet, name: str, extra: dict[str, object], limit: list[str] | None) -> float:
    started = time.monotonic()
    run = ansible.run_playbook(name, fleet.inventory, extra, limit=limit)
    if not run.ok:
        raise SystemExit(f"{name} failed:\n" + "\n".join(run.output[-15:]))
    return time.monotonic() - started


def measure(fleet: Fleet, rounds: int) -> dict[str, dict[str, list[float]]]:
    release = Path(os.path.realpath(fleet.hosts()[0].lab.paths.current))
    times: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tarball = archive(release, Path(tmp))
        deploy = {"release_archive": str(tarball), "watch_seconds": 1, "verify_seconds": 1}
        for _ in range(rounds):
            for label, settings in (("Ansible defaults", ANSIBLE_DEFAULTS), ("premortem", {})):
                saved = {key: os.environ.pop(key, None) for key in ANSIBLE_DEFAULTS}
                os.environ.update(settings)
                try:
                    mine = times.setdefault(label, {"releases.yml": [], "deploy.yml": []})
                    mine["releases.yml"].append(_timed(fleet, "releases.yml", {}, None))
                    mine["deploy.yml"].append(_timed(fleet, "deploy.yml", deploy, ["web-01"]))
                finally:
                    for key, value in saved.items():
                        os.environ.pop(key, None)
                        if value is not None:
                            os.environ[key] = value
    return times


def report(fleet: Fleet, times: dict[str, dict[str, list[float]]]) -> None:
    print(
        f"load average {os.getloadavg()[0]:.1f}; medians of {len(times['premortem']['deploy.yml'])}"
    )
    for label, runs in times.items():
        cells = ", ".join(f"{name} {statistics.median(v):.1f}s" for name, v in runs.items())
        print(f"  {label:<17} {cells}")
    started = time.monotonic()
    result = diagnose_fleet(fleet.url, fleet.inventory)
    print(
        f"fleet diagnose (3 hosts, 30 requests through the balancer): "
        f"{time.monotonic() - started:.1f}s, {len(result.healthy)} healthy, "
        f"{len(result.failing)} failing"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.dir:
        fleet = Fleet(args.dir, progress=lambda _m: None)
        report(fleet, measure(fleet, args.rounds))
        return
    with fleet_lab(3) as fleet:
        report(fleet, measure(fleet, args.rounds))


if __name__ == "__main__":
    main()
