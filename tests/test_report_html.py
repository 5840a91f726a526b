"""The HTML postmortem renders in a real browser (headless Chromium): its text is in the DOM
and the error-rate chart is drawn on the screenshot."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
from matplotlib.image import imread

from premortem.report.build import build_report
from premortem.report.chart import draw_error_rate
from premortem.report.html import render_html
from premortem.store import open_store
from test_report_build import make_site

# Flags that keep Chromium off the network (this machine refuses outside connections) and
# out of any existing profile.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("chromium")
    assert binary, "chromium is not installed (it is in TEST_PACKAGES: run `make test-deps`)"
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    profile.mkdir()
    return subprocess.run(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def red_pixels(png: Path) -> int:
    """Pixels of the chart's error-rate red (#d62728), give or take antialiasing."""
    image = imread(str(png))[:, :, :3]
    target = np.array([0xD6, 0x27, 0x28]) / 255.0
    return int((np.abs(image - target).max(axis=2) < 0.08).sum())


def ink_pixels(png: Path) -> int:
    """Pixels that are not (near) white: text, lines, bars."""
    image = imread(str(png))[:, :, :3]
    return int((image.min(axis=2) < 0.9).sum())


def screenshot(tmp_path: Path, html: str, name: str) -> Path:
    page = tmp_path / f"{name}.html"
    page.write_text(html, encoding="utf-8")
    shot = tmp_path / f"{name}.png"
    proc = chromium(tmp_path, "--window-size=1100,1600", f"--screenshot={shot}", page.as_uri())
    assert shot.exists(), proc.stderr[-2000:]
    return shot


def test_html_report_renders_in_chromium_with_its_chart(tmp_path: Path) -> None:
    incident_id = make_site(tmp_path)
    log = tmp_path / "access.log"
    with open_store(tmp_path / "state") as store:
        report = build_report(store, incident_id, access_log=log, site="http://127.0.0.1:8080/")
    chart = draw_error_rate(report, log)
    assert chart.startswith(b"\x89PNG")
    html = render_html(report, chart)

    page = tmp_path / "report.html"
    page.write_text(html, encoding="utf-8")
    dom = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    for text in (
        "Issue Summary",
        "Root Cause and Resolution",
        "class-wp-locale.phpp",
        "Corrective and Preventative Measures",
        'id="chart"',
    ):
        assert text in dom.stdout, text

    with_chart = screenshot(tmp_path, html, "with-chart")
    without_chart = screenshot(tmp_path, render_html(report, None), "without")
    red = red_pixels(with_chart), red_pixels(without_chart)
    ink = ink_pixels(with_chart), ink_pixels(without_chart)
    print(f"red pixels {red}, ink pixels {ink} (with, without the chart)")
    # The page's own red (title rule, summary border) is there in both; the chart adds its
    # error-rate line, and its bars, axes and labels add far more ink than a missing image.
    assert red[0] > red[1] + 500, red
    assert ink[0] > ink[1] + 15000, ink
