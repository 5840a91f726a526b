"""`premortem deploy --dry-run`: the plan with its real paths, and nothing changed."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from deploy_helpers import make_site, site_config
from premortem.siteconfig import write_site_config
from premortem.store import open_store

CURRENT = "20261126T000000Z"


def snapshot(*roots: Path) -> dict[str, str]:
    """Every path under the roots (the roots too) with what it is (link target, file hash or
    directory), its mode and its mtime: a touch or a chmod counts as a change."""
    seen: dict[str, str] = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            for name in [".", *dirnames, *filenames]:
                path = Path(dirpath, name)
                info = path.lstat()
                if path.is_symlink():
                    what = "-> " + os.readlink(path)
                elif path.is_file():
                    what = hashlib.sha256(path.read_bytes()).hexdigest()
                else:
                    what = "dir"
                seen[str(path)] = f"{what} {info.st_mode:o} {info.st_mtime_ns}"
    return seen


def dry_run_cli(src: Path, config_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = ["deploy", str(src), "--config", str(config_file), "--dry-run", *args]
    # Wide enough that no path is folded mid-word (tmp paths under xdist are long).
    env = {**os.environ, "COLUMNS": "400"}
    return subprocess.run(
        [sys.executable, "-m", "premortem", *command],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


def dry_run(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
    site = make_site(tmp_path / "site", [CURRENT], CURRENT)
    state = tmp_path / "state"
    # The site's event store holds the last deploy: a dry run must neither add to it nor
    # open it for writing (SQLite would leave a journal or touch the file).
    with open_store(state) as store:
        store.add_event("deploy.done", f"release {CURRENT} is live", data={"release": CURRENT})
    config = site_config(site)
    config.server_config = str(tmp_path / "httpd.conf")
    config_file = tmp_path / "premortem.toml"
    write_site_config(config, config_file)
    src = tmp_path / "build"
    src.mkdir()
    (src / "index.php").write_text("<?php echo 'new';\n")
    before = snapshot(site, state, src)
    proc = dry_run_cli(src, config_file, *args)
    assert snapshot(site, state, src) == before, "a dry run changed the site or its state"
    return proc, site, src


def test_dry_run_prints_every_step_with_real_paths_and_changes_nothing(tmp_path: Path) -> None:
    proc, site, src = dry_run(tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = " ".join(proc.stdout.split())
    assert "nothing changed" in out
    for step in ("copy:", "gate:", "stage:", "switch:", "verify:", "cleanup:"):
        assert step in out, step
    assert f"copy {src} to {site}/releases/2" in out
    assert f"against {CURRENT}" in out
    assert f"point {site}/current at releases/2" in out
    assert "apache2 -f" in out and "-k graceful" in out
    assert f"switch back to {CURRENT}" in out


def test_dry_run_json_lists_the_steps_the_flags_leave(tmp_path: Path) -> None:
    proc, _site, _src = dry_run(tmp_path, "--no-check", "--no-stage", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert plan["previous"] == CURRENT and plan["release"] > CURRENT
    assert [s["step"] for s in plan["steps"]] == ["copy", "switch", "verify", "cleanup"]


def test_dry_run_refuses_what_the_deploy_would_refuse(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", [CURRENT], CURRENT)
    config_file = tmp_path / "premortem.toml"
    write_site_config(site_config(site), config_file)
    inside = site / "releases" / CURRENT
    proc = dry_run_cli(inside, config_file)
    assert proc.returncode == 2
    assert "is inside the site" in proc.stderr and "Traceback" not in proc.stderr
