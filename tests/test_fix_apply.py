"""Applying a fix: backup, atomic write keeping owner/mode, re-probe, restore on failure."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from fix_helpers import GOOD, TYPO, config_for, seed_site, site_server
from premortem.model import Edit, Finding, Fix
from premortem.ops.remedy import apply_plan, plan_fix
from premortem.store import open_store


def _seed_finding(old: str = "class-wp-locale.phpp", new: str = "class-wp-locale.php") -> Finding:
    return Finding(
        rule="missing-file",
        severity="error",
        message="m",
        file="wp-settings.php",
        line=156,
        fix=Fix("d", edits=(Edit("wp-settings.php", 156, old, new),)),
    )


def test_fix_applies_keeps_owner_mode_and_backs_up(tmp_path: Path) -> None:
    settings = seed_site(tmp_path / "site")
    before = settings.read_bytes()
    # a hard link, as deploy makes between releases: the old release must keep its bytes
    older = tmp_path / "site" / "releases" / "older-wp-settings.php"
    os.link(settings, older)
    with site_server(settings) as url:
        config = config_for(tmp_path / "site", url)
        outcome = apply_plan(plan_fix(_seed_finding(), config), config, settle=3)
    assert outcome.applied and outcome.healthy and not outcome.restored
    assert [p.status for p in outcome.probes] == [200, 200]
    text = settings.read_text()
    assert GOOD in text and TYPO not in text
    st = settings.stat()
    assert stat.S_IMODE(st.st_mode) == 0o640 and (st.st_uid, st.st_gid) == (0, 33)
    assert older.read_bytes() == before
    assert outcome.backup_dir is not None
    assert stat.S_IMODE(outcome.backup_dir.stat().st_mode) == 0o700
    manifest = json.loads((outcome.backup_dir / "manifest.json").read_text())
    backup = Path(manifest["files"][0]["backup"])
    assert backup.read_bytes() == before
    with open_store(config.path_of_state) as store:
        kinds = [e.kind for e in store.events()]
    assert kinds == ["fix.applied"]


def test_unhealthy_after_fix_restores_backup(tmp_path: Path) -> None:
    settings = seed_site(tmp_path / "site")
    before = settings.read_bytes()
    # A wrong fix: edits the line but keeps the typo, so the site stays at 500.
    finding = _seed_finding(old="require_once", new="require")
    with site_server(settings) as url:
        config = config_for(tmp_path / "site", url)
        outcome = apply_plan(plan_fix(finding, config), config, settle=0.5)
    assert outcome.applied and not outcome.healthy and outcome.restored
    assert settings.read_bytes() == before
    st = settings.stat()
    assert stat.S_IMODE(st.st_mode) == 0o640 and (st.st_uid, st.st_gid) == (0, 33)
    with open_store(config.path_of_state) as store:
        kinds = [e.kind for e in store.events()]
    assert kinds == ["fix.applied", "fix.restored"]
