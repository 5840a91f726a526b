"""The fleet lab's nginx + php-fpm flavour (2 hosts), kept short: Ansible reaches both, a good
`fleet deploy` under loopback clients, the seed on one host found by `fleet diagnose`; then
`lab destroy` leaves no namespace, link, bridge or process behind."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleet_helpers import VENV_BIN, clients, fleet_lab, leftovers
from premortem.ops.lab.fleet import Fleet

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with fleet_lab(2, server="nginx") as the_fleet:
        yield the_fleet


def _premortem(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "premortem"), *args], capture_output=True, text=True, timeout=600
    )


def test_ansible_pings_both_nginx_hosts(fleet: Fleet) -> None:
    assert fleet.state is not None and fleet.state.server == "nginx"
    proc = subprocess.run(
        [str(VENV_BIN / "ansible"), "all", "-i", str(fleet.inventory), "-m", "ping"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("SUCCESS") == 2


def test_a_good_release_rolls_out_on_nginx_without_a_failed_request(
    fleet: Fleet, tmp_path: Path
) -> None:
    good = tmp_path / "good"
    subprocess.run(["cp", "-a", f"{fleet.hosts()[0].lab.paths.current}/.", str(good)], check=True)
    with clients(fleet.url, 4) as traffic:
        proc = _premortem(
            "fleet", "deploy", str(good), "--inventory", str(fleet.inventory),
            "--watch-seconds", "2", "--verify-seconds", "2", "--format", "json",
        )  # fmt: skip
    result = json.loads(proc.stdout)
    print(f"nginx rollout: {traffic.failed} of {traffic.sent} failed, {result['seconds']}s")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert [h["outcome"] for h in result["hosts"]] == ["deployed", "deployed"]
    assert traffic.sent > 20 and traffic.failed == 0, traffic.statuses


def test_fleet_diagnose_names_the_nginx_host_with_the_seed(fleet: Fleet) -> None:
    fleet.break_scenario("seed", "web-01")
    try:
        proc = _premortem(
            "fleet", "diagnose", fleet.url, "--inventory", str(fleet.inventory),
            "--format", "json",
        )  # fmt: skip
        assert proc.returncode == 1, proc.stderr[-3000:]
        hosts = json.loads(proc.stdout)["hosts"]
        assert [(h["name"], h["status"]) for h in hosts] == [
            ("web-01", "failing"),
            ("web-02", "healthy"),
        ]
        cause = hosts[0]["findings"][0]
        assert (cause["file"], cause["line"]) == ("wp-settings.php", 156)
    finally:
        fleet.repair()


def test_destroy_leaves_no_namespace_link_or_process(fleet: Fleet) -> None:
    fleet_id = fleet.state.id if fleet.state else ""
    assert leftovers(fleet_id, fleet.dir)
    fleet.destroy()
    assert leftovers(fleet_id, fleet.dir) == []
    assert not fleet.dir.exists()
