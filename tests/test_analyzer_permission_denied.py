"""permission-denied over recorded lab evidence (wp-includes/formatting.php made 0600 root)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.diagnose.recorded import load_scenario, searchable_tmp, with_files, write_lines
from premortem.analyzers import permission_denied


@pytest.fixture
def site_tmp() -> Iterator[Path]:
    with searchable_tmp() as base:
        yield base


def make_release(root: Path, mode: int) -> Path:
    write_lines(root / "wp-settings.php", {109: "require ABSPATH . WPINC . '/formatting.php';"})
    target = root / "wp-includes" / "formatting.php"
    write_lines(target, {2: "function wpautop() {}"})
    os.chmod(target, mode)
    return root


def test_unreadable_include_fires_with_chmod(site_tmp: Path) -> None:
    root = make_release(site_tmp / "release", 0o600)
    [finding] = permission_denied.PermissionDenied().analyze(
        with_files(load_scenario("permission", root))
    )
    assert finding.file == "wp-includes/formatting.php"
    assert finding.fix is not None
    assert finding.fix.commands == (f"chmod o+r {root}/wp-includes/formatting.php",)
    assert finding.sources >= {"trace", "log", "host"}
    assert "-rw-------" in (finding.suggestion or "")


def test_unsearchable_directory_names_the_directory(site_tmp: Path) -> None:
    root = make_release(site_tmp / "release", 0o644)
    os.chmod(root / "wp-includes", 0o700)
    try:
        [finding] = permission_denied.PermissionDenied().analyze(
            with_files(load_scenario("permission", root))
        )
        assert finding.fix is not None
        assert finding.fix.commands == (f"chmod o+x {root}/wp-includes",)
        # The directory is the root cause, not the file reached through it.
        assert finding.file == "wp-includes"
        assert "needed for wp-includes/formatting.php" in finding.message
        assert "cannot search" in finding.message
    finally:
        os.chmod(root / "wp-includes", 0o755)


def test_healthy_request_does_not_fire(site_tmp: Path) -> None:
    root = make_release(site_tmp / "release", 0o644)
    assert (
        permission_denied.PermissionDenied().analyze(with_files(load_scenario("healthy", root)))
        == []
    )
