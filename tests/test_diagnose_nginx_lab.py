"""`premortem diagnose` on the real nginx + php-fpm lab (MariaDB, WordPress on loopback).

Each scenario is injected with `lab.break_scenario`, diagnosed through the real CLI with the
lab's site config, and the top finding compared with the scenario's expected answer. Every
output is checked for the lab's secrets (helpers shared with tests/test_diagnose_lab.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from premortem.ops.lab import Lab
from test_diagnose_lab import diagnose_json, secrets_of

pytestmark = pytest.mark.lab


def test_healthy_nginx_lab_exits_0(healthy_nginx_lab: Lab) -> None:
    code, data = diagnose_json(healthy_nginx_lab)
    assert code == 0, data
    assert data["status"] == "healthy"
    assert [f for f in data["findings"] if f["severity"] == "error"] == []
    fpm = data["evidence"]["server"]["php_fpm"]
    # The pool behind nginx's fastcgi_pass, found from the running master's config.
    assert fpm["running"] is True and fpm["pool"]["name"] == "www"
    assert fpm["config_file"] == str(healthy_nginx_lab.paths.fpm_conf)


def test_silent_seed_is_found_by_tracing_php_fpm(healthy_nginx_lab: Lab) -> None:
    assert secrets_of(healthy_nginx_lab)  # the secret check is not vacuous
    healthy_nginx_lab.break_scenario("seed")
    code, data = diagnose_json(healthy_nginx_lab)
    assert code == 1
    top = data["findings"][0]
    assert top["rule"] == "missing-file"
    assert (top["file"], top["line"]) == ("wp-settings.php", 156)
    [edit] = top["fix"]["edits"]
    assert edit["new"].endswith(".php'") and ".phpp" in edit["old"]
    # Found by the trace of the pool's workers: PHP logs nothing in this scenario.
    assert any(q.startswith("trace:") and "class-wp-locale.phpp" in q for q in top["evidence"])
    assert not any(q.startswith("log:") for q in top["evidence"])
    trace = data["evidence"]["trace"]
    assert trace["matched_request"] is True
    fpm = data["evidence"]["server"]["php_fpm"]
    assert fpm["master_pid"] in trace["attached_pids"]
    assert any("log_errors is off" in c for c in data["could_not_see"])


def test_logged_seed_is_found_from_php_s_log_alone(healthy_nginx_lab: Lab) -> None:
    healthy_nginx_lab.break_scenario("seed-logged")
    code, data = diagnose_json(healthy_nginx_lab, "--no-trace")
    assert code == 1
    assert "trace" not in data["evidence"]
    top = data["findings"][0]
    assert top["rule"] == "missing-file"
    assert (top["file"], top["line"]) == ("wp-settings.php", 156)
    php_log = str(Path(healthy_nginx_lab.paths.php_error_log))
    assert php_log in data["evidence"]["logs"]["error_logs"]
    assert any(q.startswith("log:") and "class-wp-locale.phpp" in q for q in top["evidence"])


def test_php_fpm_down_is_the_502_s_cause(healthy_nginx_lab: Lab) -> None:
    healthy_nginx_lab.break_scenario("php-fpm-down")
    code, data = diagnose_json(healthy_nginx_lab)
    assert code == 1
    assert data["evidence"]["requests"][0]["status"] == 502
    top = data["findings"][0]
    assert top["rule"] == "php-fpm-down"
    socket = str(healthy_nginx_lab.paths.fpm_socket)
    assert socket in top["message"]
    assert any("while connecting to upstream" in q for q in top["evidence"])
    lab_dir = healthy_nginx_lab.paths.root
    assert top["fix"]["commands"][0].startswith(f"premortem lab up --dir {lab_dir}")
