"""The fleet lab on real hosts (issue #13): 3 web hosts in network namespaces, each with its
own sshd, web server and release tree, behind HAProxy; Ansible reaches them over SSH.
`lab destroy`'s leftovers and the nginx flavour: tests/test_fleet_nginx_lab.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy_helpers import release_sources
from fleet_helpers import VENV_BIN, clients, fleet_lab, get_many
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


def test_seed_on_one_host_is_diagnosed_on_that_host_and_fixed_there(fleet: Fleet) -> None:
    fleet.break_scenario("seed", "web-02")
    try:
        traffic = get_many(fleet.url, 60)
        print(f"seed on web-02: {traffic.failed} of {traffic.sent} failed ({traffic.statuses})")
        assert 0.15 * 60 <= traffic.failed <= 0.55 * 60
        diagnosed = _fleet_json("diagnose", fleet.url, "--inventory", str(fleet.inventory))
        assert diagnosed.returncode == 1, diagnosed.stderr[-3000:]
        result = json.loads(diagnosed.stdout)
        status = {h["name"]: h["status"] for h in result["hosts"]}
        assert status == {"web-01": "healthy", "web-02": "failing", "web-03": "healthy"}
        web02 = result["hosts"][1]
        assert (web02["findings"][0]["file"], web02["findings"][0]["line"]) == (
            "wp-settings.php",
            156,
        )
        balancer = result["summary"]["balancer"]
        print(f"fleet diagnose: {result['summary']['seconds']}s; balancer {balancer}")
        assert 0.15 <= balancer["failed_share"] <= 0.55
        assert balancer["servers"]["web-02"]["errors"] >= 1
        assert balancer["servers"]["web-01"]["errors"] == 0
        assert _wp_config_secrets(fleet) and not any(
            secret in diagnosed.stdout + diagnosed.stderr for secret in _wp_config_secrets(fleet)
        )
        fixed = _fleet_json("fix", fleet.url, "--inventory", str(fleet.inventory), "--yes")
        assert fixed.returncode == 0, fixed.stderr[-3000:]
        outcome = json.loads(fixed.stdout)
        print(f"fleet fix: {outcome['seconds']}s")
        assert [(h["name"], h["outcome"], h["status_after"]) for h in outcome["hosts"]] == [
            ("web-02", "fixed", "healthy")
        ]
        # fleet fix ends with a second fleet diagnose of every host: the re-run.
        again = outcome["after"]
        assert all(h["status"] == "healthy" for h in again["hosts"])
        assert again["summary"]["balancer"]["failed"] == 0
        assert get_many(fleet.url, 12).failed == 0
    finally:
        fleet.repair()  # the lab's own record of the fault (the file is fixed already)
    assert get_many(fleet.url, 12).failed == 0


def _wp_config_secrets(fleet: Fleet) -> list[str]:
    from premortem.readers.wpconfig import site_secrets

    return [s for s in site_secrets(str(fleet.hosts()[0].lab.paths.current)) if len(s) >= 8]


def _fleet_json(*args: str) -> subprocess.CompletedProcess[str]:
    return _fleet_cli(*args, "--format", "json")


def _fleet_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "premortem"), "fleet", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


def _current_releases(fleet: Fleet) -> dict[str, str | None]:
    """Each host's current release, read from its tree (the hosts share this filesystem)."""
    return {h.name: os.path.basename(os.readlink(h.lab.paths.current)) for h in fleet.hosts()}


def _listed_releases(fleet: Fleet) -> dict[str, str | None]:
    """Each host's current release as `premortem fleet releases` lists it."""
    proc = _fleet_cli("releases", "--inventory", str(fleet.inventory), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    hosts = json.loads(proc.stdout)
    return {
        h["name"]: next((r["name"] for r in h["releases"] if r["current"]), None) for h in hosts
    }


@pytest.fixture(scope="module")
def sources(fleet: Fleet, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    found = release_sources(fleet.hosts()[0].lab, tmp_path_factory.mktemp("releases"))
    # Passes the stage and the host's own verification, answers 500 to the balancer's
    # traffic on web-02 only: what only watching real traffic can catch.
    sneaky = found["good"].parent / "sneaky"
    shutil.copytree(found["good"], sneaky, symlinks=True)
    bridge = fleet.state.network.bridge_address if fleet.state else ""
    web02 = fleet.host("web-02").link.address
    index = sneaky / "index.php"
    text = index.read_text()
    index.unlink()
    index.write_text(
        text.replace(
            "<?php",
            f"<?php\nif (($_SERVER['REMOTE_ADDR'] ?? '') === '{bridge}' && "
            f"($_SERVER['SERVER_ADDR'] ?? '') === '{web02}') {{ http_response_code(500); exit; }}",
            1,
        )
    )
    found["sneaky"] = sneaky
    return found


def test_good_release_rolls_out_in_a_batch_of_two_without_a_failed_request(
    fleet: Fleet, sources: dict[str, Path]
) -> None:
    """The canary, then web-02 and web-03 at once (their uploads must not collide: the
    hosts share this filesystem), under 8 loopback clients."""
    before = _current_releases(fleet)
    with clients(fleet.url, 8) as traffic:
        proc = _fleet_cli(
            "deploy", str(sources["good"]), "--inventory", str(fleet.inventory),
            "--batch", "2", "--watch-seconds", "3", "--verify-seconds", "2", "--format", "json",
        )  # fmt: skip
    result = json.loads(proc.stdout)
    print(f"good rollout, batch 2: {traffic.failed} of {traffic.sent} failed, {result['seconds']}s")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert result["outcome"] == "deployed"
    assert result["batches"] == [["web-01"], ["web-02", "web-03"]]
    assert traffic.sent > 50 and traffic.failed == 0, traffic.statuses
    after = _listed_releases(fleet)
    assert after == _current_releases(fleet)
    assert all(after[name] != before[name] for name in before)
    assert all(h["release"] == after[h["name"]] for h in result["hosts"])
    assert not list(Path("/tmp").glob(f"premortem-upload-*-{result['hosts'][0]['release']}*"))


def test_seed_release_is_stopped_at_the_canary(fleet: Fleet, sources: dict[str, Path]) -> None:
    before = _current_releases(fleet)
    with clients(fleet.url, 8) as traffic:
        proc = _fleet_cli(
            "deploy", str(sources["seed"]), "--inventory", str(fleet.inventory),
            "--no-check", "--watch-seconds", "3", "--verify-seconds", "2", "--format", "json",
        )  # fmt: skip
    result = json.loads(proc.stdout)
    print(f"seed rollout: {traffic.failed} of {traffic.sent} failed; {result['reason']}")
    assert proc.returncode == 1
    assert result["failed_host"] == "web-01"
    assert "stage" in result["reason"]
    assert traffic.failed <= 0.05 * traffic.sent
    assert _current_releases(fleet) == before
    # Not switched: back in rotation on its previous release, not left drained.
    assert _server_status(fleet, "web-01").startswith("UP")


def _server_status(fleet: Fleet, name: str) -> str:
    from premortem.ops.fleet.playbooks.library.premortem_haproxy import server_stats

    return server_stats(str(fleet.haproxy_socket), "web", name).status


def test_a_release_failing_under_real_traffic_rolls_back_every_switched_host(
    fleet: Fleet, sources: dict[str, Path]
) -> None:
    before = _current_releases(fleet)
    with clients(fleet.url, 8) as traffic:
        proc = _fleet_cli(
            "deploy", str(sources["sneaky"]), "--inventory", str(fleet.inventory),
            "--watch-seconds", "4", "--verify-seconds", "2", "--format", "json",
        )  # fmt: skip
    result = json.loads(proc.stdout)
    print(f"sneaky rollout: {traffic.failed} of {traffic.sent} failed; {result['reason']}")
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert result["failed_host"] == "web-02"
    assert result["failed_step"] == "watch it under real traffic"
    assert "answers failed" in result["reason"]
    assert result["rolled_back"] == ["web-01", "web-02"]
    assert _current_releases(fleet) == before
    assert traffic.failed <= 0.05 * traffic.sent
