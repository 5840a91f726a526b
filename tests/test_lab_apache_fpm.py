"""The apache-fpm lab flavour: Apache (event MPM, proxy_fcgi) in front of its own php-fpm pool;
its scenarios break and repair, and diagnose finds each one's cause."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import httpx
import pytest

from premortem.diagnosis import DiagnoseOptions, diagnose
from premortem.ops.lab import Lab, all_scenarios
from premortem.ops.lab.apache_fpm import handler_line
from premortem.ops.lab.scenarios import Scenario
from scenario_checks import broken_answer

SCENARIOS = all_scenarios("apache-fpm")


def test_the_flavour_has_its_scenarios() -> None:
    names = [s.name for s in SCENARIOS]
    assert names[0] == "seed"
    assert {"php-fpm-down", "fpm-handler-wrong-socket", "permission", "apache-stopped"} <= set(
        names
    )
    assert "php-not-executed" not in names and "nginx-stopped" not in names
    assert len(names) >= 15


def test_apache_fpm_lab_runs_php_in_its_pool(healthy_apache_fpm_lab: Lab) -> None:
    lab = healthy_apache_fpm_lab
    status = lab.status()
    assert status.server == "apache-fpm" and status.running and status.apache_running
    assert status.pids["apache"] and len(status.pids["php-fpm"]) >= 2
    httpd = lab.paths.httpd_conf.read_text()
    assert "mod_mpm_event.so" in httpd and "libphp" not in httpd
    config = lab.site_config()
    assert config.server == "apache" and config.php_fpm_config == str(lab.paths.fpm_conf)
    assert lab.get("/").status_code == 200


def _digests(lab: Lab) -> dict[str, str]:
    paths = [lab.paths.httpd_conf, lab.paths.fpm_handler_conf, lab.paths.fpm_pool_conf]
    for dirpath, _dirs, files in os.walk(lab.paths.site):
        paths += [Path(dirpath, name) for name in files]
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest() + oct(p.lstat().st_mode)
        for p in paths
        if p.is_file() and not p.is_symlink()
    }


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario_breaks_and_repair_restores(
    healthy_apache_fpm_lab: Lab, scenario: Scenario
) -> None:
    lab = healthy_apache_fpm_lab
    before = _digests(lab)
    lab.break_scenario(scenario.name)
    assert lab.status().fault == scenario.name
    expected_status = scenario.status_on("apache-fpm")
    if expected_status is None:
        with pytest.raises(httpx.ConnectError):
            lab.get("/", timeout=5)
    else:
        broken_answer(lab, scenario, expected_status)
    lab.repair()
    assert lab.get("/").status_code == 200
    assert _digests(lab) == before


def _top(lab: Lab) -> dict[str, object]:
    found = diagnose(DiagnoseOptions(url=lab.url, config=lab.site_config()))
    data = found.to_dict()
    assert data["findings"], data
    top: dict[str, object] = data["findings"][0]
    return top


def test_the_seed_is_diagnosed_top_1_with_file_line(healthy_apache_fpm_lab: Lab) -> None:
    lab = healthy_apache_fpm_lab
    lab.break_scenario("seed")
    top = _top(lab)
    assert (top["rule"], top["file"], top["line"]) == ("missing-file", "wp-settings.php", 156)
    assert top["suggestion"] == "did you mean wp-includes/class-wp-locale.php?"
    assert any(str(q).startswith("trace:") for q in top["evidence"])  # type: ignore[attr-defined]


def test_a_handler_on_a_socket_no_pool_listens_on(healthy_apache_fpm_lab: Lab) -> None:
    lab = healthy_apache_fpm_lab
    lab.break_scenario("fpm-handler-wrong-socket")
    top = _top(lab)
    assert top["rule"] == "fpm-handler-no-pool"
    assert (top["file"], top["line"]) == (
        str(lab.paths.fpm_handler_conf),
        handler_line(lab.paths),
    )
    assert top["suggestion"] == f"did you mean unix:{lab.paths.fpm_socket}?"


def test_php_fpm_down_names_the_handler_and_the_pools_listen(
    healthy_apache_fpm_lab: Lab,
) -> None:
    lab = healthy_apache_fpm_lab
    lab.break_scenario("php-fpm-down")
    top = _top(lab)
    assert top["rule"] == "php-fpm-down"
    assert (top["file"], top["line"]) == (str(lab.paths.fpm_pool_conf), 5)
    quoted = json.dumps(top["evidence"])
    assert f"{lab.paths.fpm_handler_conf}:{handler_line(lab.paths)}" in quoted
