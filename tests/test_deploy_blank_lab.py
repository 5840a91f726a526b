"""Deploys that would serve a blank site are refused or stopped, on the real lab (issue #11).

The lab's wp-config.php is linked from shared/, as on the reporter's site: with
`define('WP_CONTENT_DIR', __DIR__ . '/wp-content')` in it the home page answered 200 with
0 bytes, and stage and verify called the release good.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy_helpers import cli, layout_of, private_lab, release_sources
from premortem.ops.deploy.releases import current_release_name
from premortem.ops.lab import Lab

pytestmark = pytest.mark.lab

CONTENT_DIR = "define('WP_CONTENT_DIR', __DIR__ . '/wp-content');"
FAST = ("--no-check", "--verify-seconds", "2", "--format", "json")


@pytest.fixture(scope="module")
def blank_lab() -> Iterator[Lab]:
    with private_lab("premortem-deploy-blank-test-") as lab:
        yield lab


@pytest.fixture(scope="module")
def good(blank_lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return release_sources(blank_lab, tmp_path_factory.mktemp("src"))["good"]


def _with_index(good: Path, base: Path, php: str) -> Path:
    src = base / "src"
    shutil.copytree(good, src, symlinks=True)
    (src / "index.php").unlink()
    (src / "index.php").write_text(php)
    return src


def _deploy(lab: Lab, src: Path, *flags: str) -> tuple[int, dict[str, object], str]:
    proc = cli("deploy", str(src), "--config", str(lab.config_path), *flags)
    data = json.loads(proc.stdout) if proc.stdout.startswith("{") else {}
    return proc.returncode, data, proc.stdout + proc.stderr


def _home(lab: Lab) -> httpx.Response:
    return httpx.get(lab.url, timeout=30)


def test_shared_wp_config_using_dir_is_refused_before_anything_changes(
    blank_lab: Lab, good: Path
) -> None:
    layout = layout_of(blank_lab)
    before = current_release_name(layout)
    wp_config = blank_lab.paths.shared_wp_config
    original = wp_config.read_text()
    lines = original.splitlines(keepends=True)
    at = next(n for n, line in enumerate(lines) if "wp-load.php defines ABSPATH" in line)
    wp_config.write_text("".join([*lines[:at], CONTENT_DIR + "\n", *lines[at:]]))
    try:
        code, _data, out = _deploy(blank_lab, good, "--no-check", "--no-stage")
        message = " ".join(out.split())
        assert code == 2, message
        assert f"shared/wp-config.php:{at + 1} uses __DIR__" in message
        assert "ABSPATH . 'wp-content'" in message
        assert current_release_name(layout) == before
    finally:
        wp_config.write_text(original)
    home = _home(blank_lab)
    assert home.status_code == 200 and "<html" in home.text


def test_stage_stops_a_release_whose_home_page_is_empty(
    blank_lab: Lab, good: Path, tmp_path: Path
) -> None:
    layout = layout_of(blank_lab)
    before = current_release_name(layout)
    code, data, out = _deploy(blank_lab, _with_index(good, tmp_path, "<?php\n"), *FAST)
    assert code == 1, out
    assert data["stopped_at"] == "stage"
    assert "/ -> 200 with an empty body" in str(data["reason"])
    assert current_release_name(layout) == before


def test_verify_rolls_back_a_release_whose_home_page_is_empty(
    blank_lab: Lab, good: Path, tmp_path: Path
) -> None:
    layout = layout_of(blank_lab)
    before = current_release_name(layout)
    src = _with_index(good, tmp_path, "<?php\n")
    code, data, out = _deploy(blank_lab, src, *FAST, "--no-stage")
    assert code == 1, out
    assert data["outcome"] == "rolled-back"
    assert "/ answered 200 with an empty body" in str(data["reason"])
    assert current_release_name(layout) == before
    assert "<html" in _home(blank_lab).text


def test_stage_stops_a_page_a_tenth_of_what_the_previous_release_served(
    blank_lab: Lab, good: Path, tmp_path: Path
) -> None:
    code, data, out = _deploy(blank_lab, good, *FAST, "--no-stage")
    assert code == 0, out  # verified: its page sizes are recorded
    layout = layout_of(blank_lab)
    live = current_release_name(layout)
    tiny = "<!DOCTYPE html><html><body>down for maintenance</body></html>"
    code, data, out = _deploy(blank_lab, _with_index(good, tmp_path, tiny), *FAST)
    assert code == 1, out
    assert data["stopped_at"] == "stage"
    assert "/ -> 200 with a 61-byte body" in str(data["reason"])
    assert "bytes it served before" in str(data["reason"])
    assert current_release_name(layout) == live
