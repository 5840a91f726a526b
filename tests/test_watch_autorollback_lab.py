"""`watch --auto-rollback` on a real lab of its own: a release with the seed's typo is
deployed without the gates (as in the seed story), the watch opens an incident, diagnoses it,
rolls back to the release that was live before, marks the bad one, and resolves."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy_helpers import private_lab
from premortem.ops.lab import Lab
from premortem.store import open_store
from test_watch_lab import LOAD_RATE, Load, incidents, stop_watch, wait_for

pytestmark = pytest.mark.lab


@pytest.fixture
def own_lab() -> Iterator[Lab]:
    # Its own lab: this test deploys releases and marks one bad, which the shared session
    # lab's other users should not find.
    with private_lab("premortem-watch-rollback-") as lab:
        yield lab


def bad_release_source(lab: Lab, dest: Path) -> Path:
    """The live release with wp-settings.php line 156 asking for class-wp-locale.phpp."""
    shutil.copytree(lab.release_dir, dest, symlinks=True)
    for shared in lab.site_config().shared_paths:
        target = dest / shared
        if target.is_symlink():
            target.unlink()
    settings = dest / "wp-settings.php"
    text = settings.read_text()
    assert "/class-wp-locale.php'" in text
    settings.unlink()  # a new file: never write through a hard link into the live release
    settings.write_text(text.replace("/class-wp-locale.php'", "/class-wp-locale.phpp'"))
    return dest


@pytest.mark.lab
def test_auto_rollback_undoes_the_bad_deploy(own_lab: Lab, tmp_path: Path) -> None:
    config = own_lab.config_path
    site = own_lab.site_config()
    good = own_lab.release_dir.name
    source = bad_release_source(own_lab, tmp_path / "bad-release")
    watch_log = tmp_path / "watch.log"
    state = site.path_of_state
    with Load(site.url, LOAD_RATE):
        command = [
            sys.executable, "-m", "premortem", "watch", "--config", str(config),
            "--interval", "2s", "--healthy", "5s", "--auto-rollback",
        ]  # fmt: skip
        watch = subprocess.Popen(command, stderr=open(watch_log, "ab"))  # noqa: SIM115
        try:
            wait_for(lambda: "watching" in watch_log.read_text(), 30, "watch did not start")
            time.sleep(2)
            deployed = subprocess.run(
                [sys.executable, "-m", "premortem", "deploy", str(source), "--config",
                 str(config), "--no-check", "--no-stage", "--verify-seconds", "0"],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            assert deployed.returncode == 0, deployed.stderr
            wait_for(lambda: incidents(state), 30, "no incident opened")
            wait_for(lambda: incidents(state)[0].status == "resolved", 90, "not resolved")
        finally:
            assert stop_watch(watch) == 0
    print(watch_log.read_text())
    assert os.readlink(Path(site.site_root) / "current") == f"releases/{good}"
    with open_store(state) as store:
        kinds = [e.kind for e in store.events(incident_id=incidents(state)[0].id)]
        (auto,) = store.events(kinds=["rollback.auto"])
    assert (
        kinds.index("diagnosis") < kinds.index("rollback.auto") < kinds.index("incident.resolved")
    )
    assert auto.data["previous"] == good
    bad = auto.data["release"]
    releases = subprocess.run(
        [sys.executable, "-m", "premortem", "releases", "--config", str(config), "--format",
         "json"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert f'"{bad}"' in releases and "rolled back by premortem watch" in releases
