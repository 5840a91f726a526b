"""The database collector: which MariaDB serves the site, its log and run directories."""

from __future__ import annotations

from pathlib import Path

from premortem.collectors.database import (
    KnownDatabase,
    _options_of,
    _read_mysqld_section,
    _wanted,
    collect_database,
)
from premortem.host import ListeningSocket, LocalHost, ProcessInfo, RecordedHost


def test_my_cnf_mysqld_options(tmp_path: Path) -> None:
    # The lab's my.cnf as `premortem lab up` writes it (the [client] socket is not the server's).
    cnf = tmp_path / "my.cnf"
    cnf.write_text(
        "[mysqld]\nsocket = /srv/lab/run/mysqld.sock\npid-file = /srv/lab/run/mysqld.pid\n"
        "port = 38633\nlog-error = /srv/lab/logs/mariadb.log\n# log_error = /nope\n"
        "[client]\nsocket = /elsewhere.sock\n"
    )
    options = _read_mysqld_section(str(cnf), LocalHost())
    assert options["socket"] == "/srv/lab/run/mysqld.sock"
    assert options["log-error"] == "/srv/lab/logs/mariadb.log"
    assert options["port"] == "38633"
    assert _options_of(["mariadbd", f"--defaults-file={cnf}", "--log_error=/x.log"]) == {
        "defaults-file": str(cnf),
        "log-error": "/x.log",
    }


def test_db_host_and_lab_table_name_the_site_database() -> None:
    assert _wanted("127.0.0.1:38633", KnownDatabase())["ports"] == {"38633"}
    assert _wanted("localhost:/run/db.sock", KnownDatabase())["sockets"] == {"/run/db.sock"}
    known = KnownDatabase(socket="/srv/lab/run/mysqld.sock", pid_file="/srv/lab/run/mysqld.pid")
    wanted = _wanted("127.0.0.1:1", known)
    assert wanted["pid_files"] == {"/srv/lab/run/mysqld.pid"}


def test_a_database_nobody_runs_is_not_running() -> None:
    # The site's MariaDB (port 1) does not run, though another one does on 3306: the site's
    # database is not running, and its run directory (from the site config) is still known.
    known = KnownDatabase(socket="/srv/nolab/run/mysqld.sock")
    other = ProcessInfo(42, 1, "mariadbd", ("/usr/sbin/mariadbd", "--port=3306"))
    machine = RecordedHost(procs=[other], sockets=[ListeningSocket(42, "127.0.0.1", 3306)])
    evidence = collect_database("127.0.0.1:1", known, machine)
    assert not evidence.running and evidence.pid is None
    assert "/srv/nolab/run" in evidence.run_dirs
