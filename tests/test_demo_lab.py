"""`premortem demo` tells the seed story end to end on its own lab, with real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from premortem.ops.lab import Lab
from premortem.ops.lab.procs import free_port
from premortem.siteconfig import read_site_config

pytestmark = pytest.mark.lab


@pytest.fixture
def demo_dir() -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix="premortem-demo-test-", dir="/tmp"))
    os.chmod(base, 0o755)  # www-data and mysql must traverse it
    try:
        yield base
    finally:
        Lab(base / "lab", progress=lambda _: None).destroy()
        subprocess.run(["rm", "-rf", str(base)], check=False)


@pytest.mark.lab
@pytest.mark.parametrize("server", ["apache", "nginx"])
def test_demo_detects_diagnoses_fixes_and_writes_the_postmortem(
    demo_dir: Path, server: str
) -> None:
    out = demo_dir / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "premortem",
            "demo",
            "--dir",
            str(demo_dir / "lab"),
            "--port",
            str(free_port()),
            "--server",
            server,
            "--out",
            str(out),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    steps = {step["name"]: step for step in result["steps"]}
    detect = next(s for name, s in steps.items() if name.startswith("watch detects"))
    assert detect["seconds"] < 10
    assert result["incident"]["status"] == "resolved"

    diagnosis = json.loads((out / "diagnosis.json").read_text())
    top = diagnosis["findings"][0]
    assert (top["file"], top["line"]) == ("wp-settings.php", 156)
    assert "class-wp-locale.phpp" in top["message"]

    postmortem = Path(result["report_md"]).read_text()
    for section in ("Issue Summary", "Timeline", "Root Cause and Resolution", "Corrective"):
        assert section in postmortem
    assert "wp-settings.php" in postmortem
    assert Path(result["report_html"]).stat().st_size > 0
    # The fix went live: the release that current points at asks for the right file.
    settings = (demo_dir / "lab" / "site" / "current" / "wp-settings.php").read_text()
    assert "class-wp-locale.phpp" not in settings
    # The lab is left serving the fixed site, and the result says where and how to stop it.
    assert result["lab_dir"] == str(demo_dir / "lab")
    lab = Lab(demo_dir / "lab", progress=lambda _: None)
    assert result["lab_url"] == lab.status().url
    assert lab.get("/").status_code == 200
    assert "class-wp-locale.php'" in settings
    # The story ran on the web server asked for.
    assert read_site_config(demo_dir / "lab" / "premortem.toml").server == server
