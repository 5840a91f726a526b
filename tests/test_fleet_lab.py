"""The fleet lab on real hosts (issue #13): 3 web hosts in network namespaces, each with its
own sshd, web server and release tree, behind HAProxy; Ansible reaches them over SSH."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest

from fleet_helpers import VENV_BIN, fleet_lab, get_many, leftovers
from premortem.ops.lab.fleet import Fleet

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with fleet_lab(3) as the_fleet:
        yield the_fleet


def test_status_names_every_host_and_the_inventory(fleet: Fleet) -> None:
    proc = subprocess.run(
        [str(VENV_BIN / "premortem"), "lab", "status", "--dir", str(fleet.dir), "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    status = json.loads(proc.stdout)
    assert status["running"] is True
    assert status["url"] == fleet.url
    assert status["inventory"] == str(fleet.inventory)
    assert [h["name"] for h in status["hosts"]] == ["web-01", "web-02", "web-03"]
    for host in status["hosts"]:
        assert host["url"] == f"http://{host['address']}:{status['port']}/"
        assert host["address"].startswith(status["subnet"].rsplit(".", 1)[0] + ".")


def test_ansible_pings_every_host_over_ssh(fleet: Fleet) -> None:
    proc = subprocess.run(
        [str(VENV_BIN / "ansible"), "all", "-i", str(fleet.inventory), "-m", "ping"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("SUCCESS") == 3


def test_seed_on_one_host_fails_a_share_of_the_balancers_traffic(fleet: Fleet) -> None:
    fleet.break_scenario("seed", "web-02")
    try:
        traffic = get_many(fleet.url, 60)
        print(f"seed on web-02: {traffic.failed} of {traffic.sent} failed ({traffic.statuses})")
        assert 0.15 * 60 <= traffic.failed <= 0.55 * 60
    finally:
        assert fleet.repair() == ["web-02"]
    assert get_many(fleet.url, 12).failed == 0


def test_destroy_leaves_no_namespace_link_or_process() -> None:
    with fleet_lab(2) as small:
        fleet_id = small.state.id if small.state else ""
        assert leftovers(fleet_id, small.dir)
    assert leftovers(fleet_id, small.dir) == []
    assert not small.dir.exists()
