"""The lab without its daemons: configs it writes, the fault journal's bookkeeping on a
temp tree (inject, repair byte for byte) and the CLI's error paths."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from premortem.errors import PremortemError
from premortem.ops.lab import Lab, all_scenarios, apache, get_scenario, mariadb, wordpress
from premortem.ops.lab.core import LabState
from premortem.ops.lab.journal import FaultJournal
from premortem.ops.lab.layout import LabPaths
from premortem.siteconfig import read_site_config


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "premortem", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
    )


def said(text: str) -> str:
    """Messages with rich's line wrapping undone."""
    return " ".join(text.split())


# -- configs -------------------------------------------------------------------------------


def test_httpd_conf_is_self_contained(tmp_path: Path) -> None:
    paths = LabPaths(tmp_path)
    conf = apache.render_httpd_conf(paths, 18123)
    assert "Listen 127.0.0.1:18123" in conf
    assert f'PidFile "{paths.apache_pid}"' in conf
    assert f'DocumentRoot "{paths.current}"' in conf
    assert f'ErrorLog "{paths.error_log}"' in conf
    assert f'CustomLog "{paths.access_log}" combined' in conf
    assert "mod_mpm_prefork.so" in conf and "libphp8.2.so" in conf
    assert "AllowOverride All" in conf and "DirectoryIndex index.php" in conf
    # Never the system's Apache: no include of /etc/apache2, no ${APACHE_*} variables.
    directives = [line for line in conf.splitlines() if not line.lstrip().startswith("#")]
    assert not any("/etc/apache2" in line or "${APACHE" in line for line in directives)
    assert f'Include "{paths.php_site_conf}"' in conf


def test_php_site_conf_controls_logging() -> None:
    assert "php_admin_flag log_errors on" in apache.render_php_site_conf(log_errors=True)
    silent = apache.render_php_site_conf(log_errors=False)
    assert "php_admin_flag log_errors off" in silent
    assert "php_admin_flag display_errors off" in silent


def test_my_cnf_is_the_labs_own(tmp_path: Path) -> None:
    paths = LabPaths(tmp_path)
    cnf = mariadb.render_my_cnf(paths, 33999)
    assert "port = 33999" in cnf and "bind-address = 127.0.0.1" in cnf
    assert f"datadir = {paths.db_data}" in cnf and f"socket = {paths.db_socket}" in cnf
    # Not the shared /tmp: two labs bootstrapping at once deleted each other's temp tables.
    assert f"tmpdir = {paths.db_tmp}" in cnf and paths.db_tmp.is_relative_to(paths.root)


def test_half_made_datadir_is_not_initialised(tmp_path: Path) -> None:
    paths = LabPaths(tmp_path)
    assert not mariadb.initialised(paths)
    (paths.db_data / "mysql").mkdir(parents=True)  # an interrupted mariadb-install-db
    assert not mariadb.initialised(paths)
    paths.state.mkdir()
    (paths.state / "db-initialised").touch()
    assert mariadb.initialised(paths)
    (paths.state / "db-initialised").unlink()
    (paths.db_data / "wordpress").mkdir()  # a lab from before the marker, with its data
    assert mariadb.initialised(paths)


def test_wp_config_defines_db_and_fresh_salts() -> None:
    first = wordpress.render_wp_config(33999, "s3cret")
    second = wordpress.render_wp_config(33999, "s3cret")
    assert "define('DB_HOST', '127.0.0.1:33999');" in first
    assert "define('DB_PASSWORD', 's3cret');" in first
    assert "/etc/wordpress" not in first
    assert first.count("define('AUTH_KEY'") == 1
    assert first != second  # keys and salts are random each time


def test_site_config_written_for_later_commands(tmp_path: Path) -> None:
    lab = Lab(tmp_path / "lab", progress=lambda _: None)
    state = LabState(port=18123, db_port=33999, release="20260101T000000Z", installed=True)
    lab._write_site_config(state)
    config = read_site_config(lab.config_path)
    paths = lab.paths
    assert config.url == "http://127.0.0.1:18123/"
    assert config.site_root == str(paths.site) and config.docroot == str(paths.current)
    assert config.server == "apache" and config.server_config == str(paths.httpd_conf)
    assert config.error_log == str(paths.error_log)
    assert config.access_log == str(paths.access_log)
    assert config.web_user == "www-data" and config.state_dir == str(paths.state)
    raw = tomllib.loads(lab.config_path.read_text())
    assert raw["lab"]["port"] == 18123 and raw["db_port"] == 33999
    assert raw["db_socket"] == str(paths.db_socket) and raw["db_pid_file"] == str(paths.db_pid)
    assert raw["start_command"] == f"premortem lab up --dir {lab.dir} --port 18123"
    assert raw["lab"]["release"] == "20260101T000000Z"
    assert "password" not in lab.config_path.read_text().lower()


# -- journal ---------------------------------------------------------------------------------


def _tree(root: Path) -> dict[str, tuple[int, int, int, str]]:
    out: dict[str, tuple[int, int, int, str]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            body = os.readlink(path) if os.path.islink(path) else ""
            if os.path.isfile(path) and not os.path.islink(path):
                os.chmod(path, st.st_mode | 0o400)  # readable for the comparison
                body = Path(path).read_bytes().hex()
                os.chmod(path, st.st_mode)
            out[path] = (st.st_mode, st.st_size, st.st_mtime_ns, body)
    return out


def _journal(tmp_path: Path) -> FaultJournal:
    return FaultJournal.load(tmp_path / "state" / "fault.json", tmp_path / "state" / "backups")


def test_journal_restores_everything_byte_for_byte(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "inc").mkdir(parents=True)
    (site / "a.php").write_bytes(b"<?php require 'inc/b.php';\n")
    (site / "inc" / "b.php").write_bytes(b"<?php echo 1;\xff\n")
    (site / "gone.php").write_bytes(b"<?php\n")
    os.symlink("inc", site / "link")
    os.utime(site / "a.php", ns=(1_000_000_000, 2_000_000_000))
    before = _tree(site)

    journal = _journal(tmp_path)
    journal.begin("unit")
    journal.replace_text(site / "a.php", "inc/b.php", "inc/b.phpp")
    journal.chmod(site / "inc" / "b.php", 0o000)
    journal.chmod(site / "inc", 0o700)
    journal.remove(site / "gone.php")
    journal.create_file(site / "mu" / "new.php", b"<?php die();\n")
    journal.symlink(site / "link", "nowhere")
    assert _tree(site) != before

    # A fresh journal (another process: `lab repair`) reads the record from disk.
    repaired = _journal(tmp_path)
    assert repaired.active == "unit"
    repaired.restore_paths()
    repaired.finish()
    assert _tree(site) == before
    assert _journal(tmp_path).active is None
    assert not (tmp_path / "state" / "backups").exists()


def test_journal_one_fault_at_a_time(tmp_path: Path) -> None:
    journal = _journal(tmp_path)
    journal.begin("first")
    with pytest.raises(PremortemError, match="already broken by scenario 'first'"):
        _journal(tmp_path).begin("second")


def test_journal_replace_text_needs_exactly_one_match(tmp_path: Path) -> None:
    target = tmp_path / "x.php"
    target.write_text("a a")
    journal = _journal(tmp_path)
    journal.begin("unit")
    with pytest.raises(PremortemError, match="exactly one"):
        journal.replace_text(target, "a", "b")
    assert target.read_text() == "a a"


def test_damaged_journal_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "fault.json").write_text("{not json")
    with pytest.raises(PremortemError, match="damaged"):
        _journal(tmp_path)


def test_journal_keeps_backups_private(tmp_path: Path) -> None:
    secret = tmp_path / "wp-config.php"
    secret.write_text("define('DB_PASSWORD', 'x');")
    journal = _journal(tmp_path)
    journal.begin("unit")
    journal.write_bytes(secret, b"changed")
    assert (tmp_path / "state" / "backups").stat().st_mode & 0o077 == 0
    record = json.loads((tmp_path / "state" / "fault.json").read_text())
    assert "DB_PASSWORD" not in json.dumps(record)


# -- registry and CLI errors -------------------------------------------------------------


def test_unknown_scenario_lists_known_ones() -> None:
    with pytest.raises(PremortemError, match=r"unknown scenario 'nope'.*seed"):
        get_scenario("nope")
    assert {s.name for s in all_scenarios()} >= {
        "seed",
        "seed-logged",
        "permission",
        "syntax",
        "db-down",
        "htaccess",
        "apache-stopped",
    }


def test_cli_break_list_describes_scenarios() -> None:
    proc = run_cli("lab", "break", "--list")
    assert proc.returncode == 0
    assert "seed:" in proc.stdout and "class-wp-locale.phpp" in proc.stdout
    as_json = json.loads(run_cli("lab", "break", "--list", "--format", "json").stdout)
    seed = next(s for s in as_json if s["name"] == "seed")
    assert seed["expected"] == {
        "diagnosis": "missing-file",
        "file": "wp-settings.php",
        "line": 156,
        "static": True,
    }


def test_cli_break_unknown_scenario(tmp_path: Path) -> None:
    proc = run_cli("lab", "break", "no-such", "--dir", str(tmp_path))
    assert proc.returncode == 2
    assert "unknown scenario" in proc.stderr and "Traceback" not in proc.stderr


def test_cli_break_without_scenario_is_usage_error() -> None:
    proc = run_cli("lab", "break")
    assert proc.returncode == 2 and "SCENARIO" in proc.stderr


def test_cli_break_without_lab(tmp_path: Path) -> None:
    proc = run_cli("lab", "break", "seed", "--dir", str(tmp_path / "none"))
    assert proc.returncode == 2
    assert "no lab at" in proc.stderr and "Traceback" not in proc.stderr


def test_cli_status_of_missing_lab(tmp_path: Path) -> None:
    proc = run_cli("lab", "status", "--dir", str(tmp_path / "none"), "--format", "json")
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert data["running"] is False
    assert {"url", "dir", "config", "access_log", "error_log"} <= set(data)


def test_cli_destroy_refuses_a_dir_that_is_not_a_lab(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    proc = run_cli("lab", "destroy", "--dir", str(tmp_path))
    assert proc.returncode == 2 and "does not look like a lab" in said(proc.stderr)
    assert (tmp_path / "precious.txt").exists()


def test_cli_repair_without_fault_says_so(tmp_path: Path) -> None:
    proc = run_cli("lab", "repair", "--dir", str(tmp_path))
    assert proc.returncode == 0 and "nothing to repair" in proc.stderr


@pytest.mark.parametrize("command", ["up", "down", "break", "repair", "destroy"])
def test_cli_without_root_says_what_it_needs(
    command: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Runs the real CLI entry point in-process as if not root (the venv may not be
    # executable by another user, so dropping privileges for real is not portable).
    from premortem.cli import main

    lab_dir = tmp_path / "lab"
    Lab(lab_dir, progress=lambda _: None)._write_site_config(LabState(port=1, db_port=2))
    (lab_dir / "state").mkdir()
    LabState(port=1, db_port=2).save(lab_dir / "state" / "lab.json")
    (lab_dir / "state" / "fault.json").write_text(json.dumps({"scenario": "seed"}))
    argv = ["premortem", "lab", command, "--dir", str(lab_dir)]
    if command == "break":
        argv.append("seed")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exited:
        main()
    err = said(capsys.readouterr().err)
    assert exited.value.code == 2
    assert "needs root" in err and "Traceback" not in err
    assert lab_dir.exists()


@pytest.mark.lab  # runs the real `lab up` (root, Debian packages) up to the port check
def test_cli_up_on_a_busy_port() -> None:
    import shutil
    import socket
    import tempfile

    # World-searchable, unlike pytest's tmp_path: only the busy port may be the problem.
    base = Path(tempfile.mkdtemp(prefix="premortem-lab-unit-", dir="/tmp"))
    os.chmod(base, 0o755)
    tmp_path = base
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = run_cli("lab", "up", "--dir", str(tmp_path / "lab"), "--port", str(port))
    assert proc.returncode == 2
    shutil.rmtree(base)
    assert f"port {port}" in said(proc.stderr) and "in use" in said(proc.stderr)
    assert "Traceback" not in proc.stderr


def test_cli_up_without_apt_says_what_it_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A machine without dpkg/apt (e.g. not Debian): every package counts as missing and
    # there is no apt-get to install them.
    import premortem.ops.packages as packages
    from premortem.cli import main

    monkeypatch.setattr(packages.shutil, "which", lambda name: None)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(sys, "argv", ["premortem", "lab", "up", "--dir", str(tmp_path / "lab")])
    with pytest.raises(SystemExit) as exited:
        main()
    err = said(capsys.readouterr().err)
    assert exited.value.code == 2
    assert "no apt-get" in err and "apache2" in err and "Traceback" not in err
    assert not (tmp_path / "lab").exists()


@pytest.mark.lab  # runs the real `lab up` (root, Debian packages) up to the directory check
def test_cli_up_in_a_dir_www_data_cannot_reach(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    proc = run_cli("lab", "up", "--dir", str(private / "lab"), "--port", "1")
    assert proc.returncode == 2
    assert "not searchable by other users" in said(proc.stderr)
    assert "Traceback" not in proc.stderr


def test_other_port_faults_move_the_listen_line_of_their_servers_config(tmp_path: Path) -> None:
    from premortem.ops.lab.scenarios._helpers import ListensElsewhere

    moved = [s for s in all_scenarios() if isinstance(s, ListensElsewhere)]
    assert {s.code for s in moved} == {"apache-other-port", "nginx-other-port"}
    paths = LabPaths(tmp_path)
    for scenario in moved:
        config = getattr(paths, scenario.config_file)
        assert isinstance(config, Path) and config.is_relative_to(tmp_path)
        line = scenario.listen.format(port=8080)
        assert "127.0.0.1:8080" in line and line.lower().startswith("listen ")
