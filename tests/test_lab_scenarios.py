"""Every fault scenario on the real lab: it breaks the site the way it says, and
`lab repair` restores every file it touched byte for byte and the site answers 200."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import httpx
import pytest

from premortem.ops.lab import Lab, Scenario, all_scenarios
from scenario_checks import broken_answer

SCENARIOS = all_scenarios("apache", tls=False)


def _snapshot(root: Path) -> dict[str, tuple[int, int, int, int, int, str]]:
    """Mode, owner, size, mtime and (for links) target of every path under root."""
    result: dict[str, tuple[int, int, int, int, int, str]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            target = os.readlink(path) if os.path.islink(path) else ""
            result[path] = (st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns, target)
    return result


def _lab_tree(lab: Lab) -> dict[str, tuple[int, int, int, int, int, str]]:
    snap = _snapshot(lab.paths.site)
    for conf in (lab.paths.httpd_conf, lab.paths.php_site_conf, lab.paths.my_cnf):
        st = os.lstat(conf)
        snap[str(conf)] = (st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns, "")
    return snap


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.lab
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario_breaks_and_repair_restores(healthy_lab: Lab, scenario: Scenario) -> None:
    lab = healthy_lab
    before = _lab_tree(lab)

    log_size = lab.paths.error_log.stat().st_size
    lab.break_scenario(scenario.name)
    assert lab.status().fault == scenario.name
    journal = json.loads(lab.paths.fault_json.read_text())
    touched = [p["path"] for p in journal["paths"] if p["kind"] == "file"]
    original_sha = {}
    for item in journal["paths"]:
        if item["kind"] == "file":
            original_sha[item["path"]] = _sha(Path(item["backup"]))

    if scenario.http_status is None:
        with pytest.raises(httpx.ConnectError):
            lab.get("/", timeout=5)
    else:
        answer = broken_answer(lab, scenario, scenario.http_status)
        if scenario.body_contains is not None:
            assert scenario.body_contains in answer.text
        if scenario.expected.diagnosis == "redirect-loop":
            assert answer.headers["location"] == str(answer.request.url)

    expected = scenario.expected
    if expected.file is not None:
        # The expected location exists in the release (or is the release's own link).
        assert os.path.lexists(lab.release_dir / expected.file), expected.file
    php_logs_it = scenario.name != "seed" and expected.diagnosis in ("missing-file", "php-fatal")
    if expected.line and expected.file and php_logs_it:
        # Where PHP logs it, the expected file:line is the one PHP reports.
        logged = lab.paths.error_log.read_bytes()[log_size:].decode(errors="replace")
        assert f"{expected.file} on line {expected.line}" in logged, logged[-600:]

    lab.repair()
    assert lab.status().fault is None
    assert lab.get("/").status_code == 200
    after = _lab_tree(lab)
    assert after == before
    for path in touched:
        assert _sha(Path(path)) == original_sha[path]


def test_scenarios_are_described() -> None:
    names = [s.name for s in SCENARIOS]
    assert len(names) == len(set(names))
    assert names[0] == "seed"
    for scenario in SCENARIOS:
        assert scenario.description and scenario.expected.diagnosis
        if scenario.expected.line is not None:
            assert scenario.expected.file is not None
