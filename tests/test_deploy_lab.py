"""deploy/rollback/releases against the real lab (Apache + mod_php, MariaDB, WordPress).

The module brings up its own lab (a few seconds) so that switching `current` and marking
releases bad never disturbs the shared `lab` fixture other tests use.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from deploy_helpers import cli, deploy_under_load, layout_of, private_lab, release_sources
from premortem.ops.deploy.releases import current_release_name, list_releases
from premortem.ops.lab import Lab
from premortem.siteconfig import SiteConfig, read_site_config
from premortem.store import open_store

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def deploy_lab() -> Iterator[Lab]:
    with private_lab("premortem-deploy-test-") as lab:
        yield lab


@pytest.fixture(scope="module")
def sources(deploy_lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return release_sources(deploy_lab, tmp_path_factory.mktemp("src"))


def config_of(lab: Lab) -> SiteConfig:
    return read_site_config(lab.config_path)


def status(url: str) -> int:
    return httpx.get(url, timeout=30).status_code


def test_seed_release_is_stopped_by_the_gate(deploy_lab: Lab, sources: dict[str, Path]) -> None:
    layout = layout_of(deploy_lab)
    before = current_release_name(layout)
    proc = cli("deploy", str(sources["seed"]), "--config", str(deploy_lab.config_path))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = " ".join(proc.stdout.split())
    assert "stopped by the gate" in out
    assert "wp-settings.php:156" in out and "class-wp-locale.php" in out
    assert current_release_name(layout) == before
    newest = list_releases(layout)[-1]
    assert newest.bad and newest.bad_reason is not None and newest.bad_reason.startswith("gate")
    assert status(deploy_lab.url) == 200
    with open_store(config_of(deploy_lab).path_of_state) as store:
        kinds = [e.kind for e in store.events()]
    assert kinds[-4:] == ["deploy.start", "deploy.copy", "deploy.gate", "deploy.failed"]


def test_stage_stops_the_seed_when_the_gate_is_skipped(
    deploy_lab: Lab, sources: dict[str, Path]
) -> None:
    layout = layout_of(deploy_lab)
    before = current_release_name(layout)
    proc = cli(
        "deploy", str(sources["seed"]), "--no-check", "--config", str(deploy_lab.config_path)
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = " ".join(proc.stdout.split())
    assert "stopped by the stage" in out and "/ -> 500" in out
    assert current_release_name(layout) == before
    stage = config_of(deploy_lab).path_of_state / "stage"
    assert not (stage / "httpd.pid").exists()
    conf = str(stage / "stage.conf")
    assert not any(conf in " ".join(p.info["cmdline"] or []) for p in _procs())


def _procs() -> list[psutil.Process]:
    return list(psutil.process_iter(["cmdline"]))


def test_good_deploy_under_load_has_no_failed_requests(
    deploy_lab: Lab, sources: dict[str, Path]
) -> None:
    layout = layout_of(deploy_lab)
    before = current_release_name(layout)
    result, load = deploy_under_load(deploy_lab, sources["good"], "--verify-seconds", "3")
    assert result["returncode"] == 0, result
    print(
        f"\ngood deploy under 8 loopback clients: {load.served} requests served, "
        f"{len(load.failed)} failed, {load.retried} kept-alive retries; "
        f"switch + graceful reload {result['switch_seconds']:.3f}s; steps {result['timings']}"
    )
    assert load.failed == []
    assert load.served > 20
    # The deploy's own account, from the access log, agrees: users got no 5xx.
    assert result["user_errors"] == 0 and result["user_requests"] > 10
    assert result["outcome"] == "deployed" and result["previous"] == before
    assert current_release_name(layout) == result["release"]
    assert result["linked_files"] > 1000  # unchanged files are hard-linked


def test_bad_deploy_without_gates_rolls_back(deploy_lab: Lab, sources: dict[str, Path]) -> None:
    layout = layout_of(deploy_lab)
    before = current_release_name(layout)
    result, load = deploy_under_load(deploy_lab, sources["seed"], "--no-check", "--no-stage")
    assert result["returncode"] == 1, result
    print(
        f"\nbad deploy (--no-check --no-stage) under 8 clients: {len(load.failed)} failed "
        f"requests, {load.served} served; rolled back {result['rollback_seconds']:.2f}s "
        "after the switch"
    )
    assert result["outcome"] == "rolled-back"
    assert result["rollback_seconds"] <= 10
    # Its access-log count of failed user requests is close to what the clients saw.
    assert 0 < result["user_errors_after_switch"] <= len(load.failed)
    assert current_release_name(layout) == before
    bad = {r.name: r for r in list_releases(layout)}[result["release"]]
    assert bad.bad and bad.bad_reason is not None and bad.bad_reason.startswith("verify")
    assert status(deploy_lab.url) == 200
    with open_store(config_of(deploy_lab).path_of_state) as store:
        rollbacks = store.events(kinds=["rollback"])
    assert rollbacks[-1].data["automatic"] is True


def test_rollback_skips_bad_releases(deploy_lab: Lab, sources: dict[str, Path]) -> None:
    config = str(deploy_lab.config_path)
    layout = layout_of(deploy_lab)
    fast = ("--no-check", "--no-stage", "--verify-seconds", "0.5", "--config", config)
    assert cli("deploy", str(sources["good"]), *fast).returncode == 0
    good = current_release_name(layout)
    stopped = cli("deploy", str(sources["seed"]), "--no-check", "--config", config)
    assert stopped.returncode == 1  # the stage stops it: marked bad, never live
    bad = list_releases(layout)[-1]
    assert bad.bad
    assert cli("deploy", str(sources["good"]), *fast).returncode == 0
    newest = current_release_name(layout)
    assert newest not in (good, bad.name)
    proc = cli("rollback", "--config", config, "--verify-seconds", "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert current_release_name(layout) == good  # the bad one in between is skipped
    assert status(deploy_lab.url) == 200
    proc = cli("rollback", "--to", bad.name, "--config", config)
    assert proc.returncode == 2 and "marked bad" in " ".join(proc.stderr.split())
    assert current_release_name(layout) == good
    listing = json.loads(cli("releases", "--format", "json", "--config", config).stdout)
    assert [r["name"] for r in listing if r["current"]] == [good]
    marked = {r["name"]: r for r in listing if r["bad"]}
    # The stopped release, and the one the rollback left (users were taken away from it).
    assert bad.name in marked and marked[newest]["bad_reason"].startswith(f"rollback to {good}")
    assert {"name", "path", "current", "bad", "created"} <= set(listing[0])
    with open_store(config_of(deploy_lab).path_of_state) as store:
        assert store.events(kinds=["rollback"])[-1].data["automatic"] is False


def test_concurrent_deploy_is_refused(deploy_lab: Lab, sources: dict[str, Path]) -> None:
    first = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "premortem",
            "deploy",
            str(sources["good"]),
            "--no-stage",
            "--verify-seconds",
            "1",
            "--config",
            str(deploy_lab.config_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert first.stderr is not None
        for line in first.stderr:
            if "gate..." in line:
                break
        second = cli("deploy", str(sources["good"]), "--config", str(deploy_lab.config_path))
        assert second.returncode == 2
        message = " ".join(second.stderr.split())
        assert "holds the lock" in message and f"pid {first.pid}" in message
        assert "Traceback" not in second.stderr
    finally:
        first.communicate(timeout=120)
    assert first.returncode == 0


@pytest.mark.parametrize("step", ["copy", "stage", "verify"])
def test_deploy_killed_at_any_step_leaves_a_complete_current(
    deploy_lab: Lab, sources: dict[str, Path], step: str
) -> None:
    layout = layout_of(deploy_lab)
    before = {r.name: r for r in list_releases(layout)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "premortem",
            "deploy",
            str(sources["good"]),
            "--no-check",  # the gate only reads; skipping it keeps the test short
            "--verify-seconds",
            "5",
            "--config",
            str(deploy_lab.config_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if f"{step}..." in line:
            break
    time.sleep(0.1 if step == "copy" else 0.5)  # inside the step, not at its start
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    current = layout.current_link.resolve()
    assert current.parent == layout.releases_dir.resolve()
    assert not current.name.startswith(".")
    assert (current / "wp-settings.php").is_file() and (current / "wp-config.php").is_file()
    assert status(deploy_lab.url) == 200
    # A release the killed deploy completed was never verified: rollback must not choose it.
    for release in list_releases(layout):
        if release.name not in before:
            assert release.bad and release.bad_reason is not None
            assert release.bad_reason.startswith("not verified")
    # The next deploy takes over the stale lock, cleans up and works.
    again = cli(
        "deploy",
        str(sources["good"]),
        "--no-check",
        "--no-stage",  # a stage server the killed deploy left is stopped all the same
        "--verify-seconds",
        "1",
        "--config",
        str(deploy_lab.config_path),
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert "stale deploy lock" in " ".join(again.stderr.split())
    assert not list(layout.releases_dir.glob(".partial-*"))
    stage_pid = config_of(deploy_lab).path_of_state / "stage" / "httpd.pid"
    assert not stage_pid.exists()


def test_keep_removes_old_releases_but_not_current_or_previous(
    deploy_lab: Lab, sources: dict[str, Path]
) -> None:
    layout = layout_of(deploy_lab)
    for _ in range(2):
        proc = cli(
            "deploy",
            str(sources["good"]),
            "--no-check",
            "--no-stage",
            "--keep",
            "2",
            "--verify-seconds",
            "0.5",
            "--config",
            str(deploy_lab.config_path),
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
    remaining = list_releases(layout)
    assert len(remaining) == 2
    assert remaining[-1].current
    assert status(deploy_lab.url) == 200


def test_missing_source_is_a_clear_error(deploy_lab: Lab, tmp_path: Path) -> None:
    proc = cli("deploy", str(tmp_path / "nope"), "--config", str(deploy_lab.config_path))
    assert proc.returncode == 2
    message = " ".join(proc.stderr.split())
    assert "does not exist" in message and "Traceback" not in message
