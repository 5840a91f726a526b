"""The lab's nginx + php-fpm flavour: configs it writes (no daemons), then end to end on a
real nginx, php-fpm, MariaDB and WordPress: up -> 200 from nginx with PHP through php-fpm;
seed -> 500 with a silent PHP log; nginx-stopped -> refused; php-fpm-down -> 502; every
nginx scenario breaks as it says and repair restores it; down leaves no lab process."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import httpx
import psutil
import pytest

from premortem.errors import PremortemError
from premortem.ops.lab import Lab, Scenario, all_scenarios, nginx, phpfpm
from premortem.ops.lab.core import LabState
from premortem.ops.lab.layout import LabPaths
from premortem.siteconfig import read_site_config
from scenario_checks import broken_answer

NGINX_SCENARIOS = all_scenarios("nginx", tls=False)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "premortem", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
    )


# -- without daemons ---------------------------------------------------------------------


def test_nginx_conf_is_the_labs_own(tmp_path: Path) -> None:
    paths = LabPaths(tmp_path)
    conf = nginx.render_nginx_conf(paths, 18123)
    assert "listen 127.0.0.1:18123;" in conf
    assert f"pid {paths.nginx_pid};" in conf
    assert f"error_log {paths.error_log} warn;" in conf
    assert f"access_log {paths.access_log} combined;" in conf
    assert f"root {paths.current};" in conf
    assert "try_files $uri $uri/ /index.php?$args;" in conf
    assert "location ~ \\.php$ {" in conf
    assert f"server unix:{paths.fpm_socket};" in conf and "fastcgi_pass php_fpm;" in conf
    # The port reaches PHP (WordPress builds its URLs from HTTP_HOST).
    assert "fastcgi_param HTTP_HOST $host:$server_port;" in conf
    # Nothing of the system's nginx but the MIME table it ships; temp dirs are the lab's.
    directives = [line.strip() for line in conf.splitlines() if not line.lstrip().startswith("#")]
    etc = [line for line in directives if "/etc/nginx" in line]
    assert etc == ["include /etc/nginx/mime.types;"]
    assert "/var/lib/nginx" not in conf and f"{paths.nginx_temp}/fastcgi" in conf


def test_php_fpm_pool_runs_as_www_data_and_controls_logging(tmp_path: Path) -> None:
    paths = LabPaths(tmp_path)
    master = phpfpm.render_fpm_conf(paths)
    assert f"pid = {paths.fpm_pid}" in master and f"include = {paths.fpm_pool_conf}" in master
    assert f"error_log = {paths.fpm_log}" in master
    pool = phpfpm.render_pool_conf(paths, log_errors=True)
    assert "user = www-data" in pool and f"listen = {paths.fpm_socket}" in pool
    assert "catch_workers_output = yes" in pool
    assert "php_admin_flag[log_errors] = on" in pool
    assert f"php_admin_value[error_log] = {paths.php_error_log}" in pool
    silent = phpfpm.render_pool_conf(paths, log_errors=False)
    assert "php_admin_flag[log_errors] = off" in silent
    assert "php_admin_flag[display_errors] = off" in silent


def test_site_config_of_an_nginx_lab(tmp_path: Path) -> None:
    lab = Lab(tmp_path / "lab", progress=lambda _: None)
    state = LabState(port=18123, db_port=33999, release="r1", installed=True, server="nginx")
    lab._write_site_config(state)
    config = read_site_config(lab.config_path)
    paths = lab.paths
    assert config.server == "nginx" and config.server_config == str(paths.nginx_conf)
    assert config.error_log == str(paths.error_log)
    assert config.extra["lab"]["server"] == "nginx"
    # Settings any nginx + php-fpm site has are top-level keys, not the lab's own table.
    raw = tomllib.loads(lab.config_path.read_text())
    assert raw["php_fpm_config"] == config.php_fpm_config == str(paths.fpm_conf)
    assert raw["php_fpm_pid_file"] == str(paths.fpm_pid)
    assert raw["nginx_pid_file"] == str(paths.nginx_pid)
    assert raw["php_error_log"] == str(paths.php_error_log)
    assert raw["php_fpm_log"] == str(paths.fpm_log)
    assert "php_fpm_config" not in raw["lab"]


def test_scenarios_declare_their_flavours() -> None:
    nginx_names = {s.name for s in NGINX_SCENARIOS}
    apache_names = {s.name for s in all_scenarios("apache")}
    required = {"nginx-stopped", "nginx-other-port", "php-fpm-down", "seed", "seed-logged"}
    assert nginx_names >= required | {"permission", "syntax", "db-down"}
    assert not {"nginx-stopped", "nginx-other-port", "php-fpm-down"} & apache_names
    assert not {"htaccess", "apache-stopped", "open-files"} & nginx_names
    listing = _cli("lab", "break", "--list", "--server", "nginx", "--format", "json")
    assert listing.returncode == 0, listing.stderr
    assert {s["name"] for s in json.loads(listing.stdout)} == nginx_names


# -- on the real nginx lab ---------------------------------------------------------------


def _lab_processes(lab: Lab) -> list[psutil.Process]:
    """Every live process whose command line names one of the lab's own config files."""
    markers = (str(lab.paths.nginx_conf), str(lab.paths.fpm_conf), str(lab.paths.my_cnf))
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if proc.info["status"] != psutil.STATUS_ZOMBIE and any(m in cmdline for m in markers):
            found.append(proc)
    return found


def _appended(path: Path, since: int) -> bytes:
    return path.read_bytes()[since:]


@pytest.mark.lab
def test_nginx_lab_serves_wordpress_through_php_fpm(healthy_nginx_lab: Lab) -> None:
    lab = healthy_nginx_lab
    status = lab.status()
    assert status.server == "nginx" and status.running and status.server_running
    assert not status.apache_running and "apache" not in status.pids
    assert status.pids["nginx"] and status.pids["php-fpm"] and status.pids["mariadb"]
    for pid in status.pids["php-fpm"][1:]:
        assert psutil.Process(pid).username() == "www-data"
    home = lab.get("/")
    assert home.status_code == 200
    assert home.headers["server"].startswith("nginx/")
    assert "premortem lab" in home.text  # PHP (WordPress) rendered the blog's title
    assert lab.get("/wp-login.php").status_code == 200
    assert lab.get("/hello-world/").status_code == 200  # pretty permalinks via try_files
    assert not lab.paths.httpd_conf.exists()

    config = read_site_config(lab.config_path)
    assert config.server == "nginx" and config.server_config == str(lab.paths.nginx_conf)
    assert config.php_fpm_config == str(lab.paths.fpm_conf)
    deadline = time.monotonic() + 5
    last = ""
    while time.monotonic() < deadline and '"GET /hello-world/' not in last:
        last = lab.paths.access_log.read_text().splitlines()[-1]
        time.sleep(0.05)
    assert '"GET /hello-world/ HTTP/1.1" 200 ' in last and '"python-httpx/' in last
    # WordPress's installer asked the site nothing over HTTP (its pretty-permalink probe once
    # hung a loaded CI run): the lab's first requests are its own readiness probes.
    log = lab.paths.access_log.read_text()
    before_ready = log.split('"python-httpx/', 1)[0]
    assert '"WordPress/' not in before_ready, before_ready[-500:]

    # The flavour is remembered: the CLI needs no --server, and another flavour is refused.
    shown = _cli("lab", "status", "--dir", str(lab.dir), "--format", "json")
    assert shown.returncode == 0 and json.loads(shown.stdout)["server"] == "nginx"
    with pytest.raises(PremortemError, match="is an nginx lab"):
        lab.up(port=status.port or 0, server="apache")
    listing = _cli("lab", "break", "--list", "--dir", str(lab.dir))
    assert "php-fpm-down" in listing.stdout and "htaccess" not in listing.stdout
    with pytest.raises(PremortemError, match="does not apply to an nginx lab"):
        lab.break_scenario("htaccess")


@pytest.mark.lab
def test_nginx_seed_is_silent_and_repair_heals(healthy_nginx_lab: Lab) -> None:
    lab = healthy_nginx_lab
    settings = lab.release_dir / "wp-settings.php"
    original = settings.read_bytes()
    pool = lab.paths.fpm_pool_conf.read_bytes()
    logs = (lab.paths.error_log, lab.paths.php_error_log, lab.paths.fpm_log)
    sizes = [log.stat().st_size for log in logs]

    lab.break_scenario("seed")
    assert b"php_admin_flag[log_errors] = off" in lab.paths.fpm_pool_conf.read_bytes()
    for _ in range(3):
        assert lab.get("/").status_code == 500
    time.sleep(0.2)
    for log, size in zip(logs, sizes, strict=True):
        appended = _appended(log, size)
        assert b"PHP" not in appended and b"phpp" not in appended, (log, appended)

    lab.repair()
    assert settings.read_bytes() == original
    assert lab.paths.fpm_pool_conf.read_bytes() == pool
    assert lab.get("/").status_code == 200

    # With logging on, the same typo reaches PHP's log in the lab's logs dir.
    size = lab.paths.php_error_log.stat().st_size
    lab.break_scenario("seed-logged")
    assert lab.get("/").status_code == 500
    logged = _appended(lab.paths.php_error_log, size).decode(errors="replace")
    assert "class-wp-locale.phpp" in logged and "wp-settings.php on line 156" in logged
    lab.repair()
    assert lab.get("/").status_code == 200


@pytest.mark.lab
def test_nginx_stopped_refuses_connections(healthy_nginx_lab: Lab) -> None:
    lab = healthy_nginx_lab
    lab.break_scenario("nginx-stopped")
    with pytest.raises(httpx.ConnectError):
        lab.get("/", timeout=5)
    status = lab.status()
    assert "nginx" not in status.pids and status.pids["php-fpm"] and not status.running
    lab.repair()
    assert lab.get("/").status_code == 200


@pytest.mark.lab
def test_php_fpm_down_gives_502(healthy_nginx_lab: Lab) -> None:
    lab = healthy_nginx_lab
    size = lab.paths.error_log.stat().st_size
    lab.break_scenario("php-fpm-down")
    answer = lab.get("/")
    assert answer.status_code == 502 and answer.headers["server"].startswith("nginx/")
    assert lab.get("/wp-includes/css/dashicons.min.css").status_code == 200  # static still
    logged = _appended(lab.paths.error_log, size).decode(errors="replace")
    assert f"connect() to unix:{lab.paths.fpm_socket} failed" in logged
    lab.repair()
    assert lab.get("/").status_code == 200


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree(lab: Lab) -> dict[str, tuple[int, int, int, int, int, str]]:
    """Mode, owner, size, mtime and link target of the site and the lab's configs."""
    result: dict[str, tuple[int, int, int, int, int, str]] = {}
    paths = [lab.paths.nginx_conf, lab.paths.fpm_conf, lab.paths.fpm_pool_conf, lab.paths.my_cnf]
    for dirpath, dirnames, filenames in os.walk(lab.paths.site):
        paths += [Path(dirpath, name) for name in dirnames + filenames]
    for path in paths:
        st = os.lstat(path)
        target = os.readlink(path) if path.is_symlink() else ""
        result[str(path)] = (st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns, target)
    return result


@pytest.mark.lab
@pytest.mark.parametrize("scenario", NGINX_SCENARIOS, ids=[s.name for s in NGINX_SCENARIOS])
def test_nginx_scenario_breaks_and_repair_restores(
    healthy_nginx_lab: Lab, scenario: Scenario
) -> None:
    lab = healthy_nginx_lab
    before = _tree(lab)
    php_log_size = lab.paths.php_error_log.stat().st_size
    lab.break_scenario(scenario.name)
    assert lab.status().fault == scenario.name
    journal = json.loads(lab.paths.fault_json.read_text())
    files = [p for p in journal["paths"] if p["kind"] == "file"]
    originals = {p["path"]: _sha(Path(p["backup"])) for p in files}

    if scenario.http_status is None:
        with pytest.raises(httpx.ConnectError):
            lab.get("/", timeout=5)
    else:
        answer = broken_answer(lab, scenario, scenario.http_status)
        if scenario.body_contains is not None:
            assert scenario.body_contains in answer.text
    expected = scenario.expected
    logs_php = scenario.name != "seed" and expected.diagnosis in ("missing-file", "php-fatal")
    if expected.file and expected.line and logs_php:
        logged = _appended(lab.paths.php_error_log, php_log_size).decode(errors="replace")
        assert f"{expected.file} on line {expected.line}" in logged, logged[-600:]

    lab.repair()
    assert lab.status().fault is None
    assert lab.get("/").status_code == 200
    assert _tree(lab) == before
    for path, sha in originals.items():
        assert _sha(Path(path)) == sha


@pytest.mark.lab
def test_nginx_down_stops_everything_and_warm_up_serves_again(healthy_nginx_lab: Lab) -> None:
    lab = healthy_nginx_lab
    pids = [pid for group in lab.status().pids.values() for pid in group]
    assert _lab_processes(lab)
    lab.down()
    assert not lab.status().running and not lab.status().pids
    assert not _lab_processes(lab)
    assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie" for p in pids)
    assert not lab.paths.fpm_socket.exists()

    state = lab.state
    assert state is not None and state.server == "nginx"
    started = time.monotonic()
    lab.up(port=state.port)  # no server given: the lab's own flavour
    warm = time.monotonic() - started
    assert lab.status().server == "nginx"
    assert lab.get("/").status_code == 200
    assert warm < 30, warm
