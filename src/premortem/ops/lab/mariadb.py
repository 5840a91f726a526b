"""The lab's own MariaDB: own datadir, socket, PID file and TCP port on 127.0.0.1.

Never touches the system's MariaDB. Root logs in through the unix socket (socket auth, as
Debian sets it up); WordPress logs in over TCP as its own user with a random password that
lives only in a 0600 file and in wp-config.php, and never on a command line.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from premortem.errors import PremortemError
from premortem.ops.lab.layout import LabPaths
from premortem.ops.lab.procs import running_pid, terminate, wait_listening

MARIADBD = "/usr/sbin/mariadbd"
MARIADB_NAMES = ("mariadbd", "mysqld")
DB_NAME = "wordpress"
DB_USER = "wordpress"


def render_my_cnf(paths: LabPaths, db_port: int, bind: str = "127.0.0.1") -> str:
    """bind: MariaDB's bind-address (a fleet lab adds its bridge's address: "127.0.0.1,ADDR")."""
    return f"""# Written by `premortem lab up`: the lab's own MariaDB, independent of /etc/mysql.
[mysqld]
user = mysql
datadir = {paths.db_data}
socket = {paths.db_socket}
# Its own temporary tables: in a shared /tmp, two MariaDBs bootstrapping at once deleted
# each other's (#sql-temptable-..., "Can't find file", mariadb-install-db aborts).
tmpdir = {paths.db_tmp}
pid-file = {paths.db_pid}
port = {db_port}
bind-address = {bind}
log-error = {paths.mariadb_log}
skip-name-resolve
skip-log-bin
performance_schema = OFF
innodb_buffer_pool_size = 32M
innodb_log_file_size = 16M
# Linux AIO contexts are a machine-wide budget (fs.aio-max-nr) that the system's own
# MariaDB needs too; a few labs at once exhausted it (io_setup EAGAIN, InnoDB aborts).
innodb_use_native_aio = 0
max_connections = 60

[client]
socket = {paths.db_socket}
"""


def pid(paths: LabPaths) -> int | None:
    return running_pid(paths.db_pid, MARIADB_NAMES)


def _initialised_marker(paths: LabPaths) -> Path:
    return paths.state / "db-initialised"


def initialised(paths: LabPaths) -> bool:
    """mariadb-install-db finished in this datadir (not merely started: see install_db).

    A datadir that already holds the site's database counts too (labs made before the
    marker existed).
    """
    if not (paths.db_data / "mysql").is_dir():
        return False
    return _initialised_marker(paths).exists() or (paths.db_data / DB_NAME).is_dir()


def _make_mysql_dirs(*directories: Path) -> None:
    """Directories mariadbd writes in (it runs as mysql)."""
    for directory in directories:
        directory.mkdir(parents=True, exist_ok=True)
        shutil.chown(directory, "mysql", "mysql")


def install_db(paths: LabPaths) -> None:
    """Create the system tables in the lab's datadir (first `up` only).

    A datadir left half-made by an interrupted first `up` is wiped and made again.
    """
    shutil.rmtree(paths.db_data, ignore_errors=True)
    _make_mysql_dirs(paths.db_data, paths.db_tmp)
    proc = subprocess.run(
        [
            "mariadb-install-db",
            f"--defaults-file={paths.my_cnf}",
            "--user=mysql",
            "--skip-test-db",
            "--auth-root-authentication-method=socket",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        output = (proc.stdout + proc.stderr).strip()
        log = paths.state / "mariadb-install-db.log"
        log.write_text(output + "\n")
        lines = output.splitlines()
        # Its output ends in boilerplate; the reason is in the [ERROR] lines before it.
        errors = [line for line in lines if "[ERROR]" in line or "error" in line.lower()]
        tail = "\n".join((errors or lines)[-10:])
        raise PremortemError(
            f"mariadb-install-db failed for the lab (exit {proc.returncode}; "
            f"all it said: {log}):\n{tail}"
        )
    _initialised_marker(paths).touch()


def start(paths: LabPaths, db_port: int) -> int:
    """Start mariadbd in the background; return its PID once it accepts connections."""
    existing = pid(paths)
    if existing is not None:
        return existing
    _make_mysql_dirs(paths.db_run, paths.db_tmp)
    paths.db_pid.unlink(missing_ok=True)
    with open(paths.mariadb_log, "ab") as log:
        # A new session so that Ctrl-C in the terminal that ran `lab up` does not reach it.
        subprocess.Popen(
            [MARIADBD, f"--defaults-file={paths.my_cnf}"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        started = pid(paths)
        if started is not None and wait_listening(db_port, 0.2) and paths.db_socket.exists():
            return started
        time.sleep(0.05)
    tail = ""
    if paths.mariadb_log.exists():
        tail = "\n".join(paths.mariadb_log.read_text(errors="replace").splitlines()[-8:])
    raise PremortemError(f"the lab's MariaDB did not start on 127.0.0.1:{db_port}:\n{tail}")


def stop(paths: LabPaths) -> None:
    running = pid(paths)
    if running is not None:
        terminate(running, timeout=60)


def run_sql(paths: LabPaths, sql: str) -> str:
    """Run SQL as the DB's root over the lab's socket. SQL goes through stdin (not argv)."""
    proc = subprocess.run(
        ["mariadb", f"--defaults-file={paths.my_cnf}", "-uroot", "--batch", "--skip-column-names"],
        input=sql,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise PremortemError(f"SQL on the lab's MariaDB failed: {proc.stderr.strip()}")
    return proc.stdout


def create_database(paths: LabPaths, password: str) -> None:
    """The WordPress database and its user (from 127.0.0.1 only), idempotently."""
    run_sql(
        paths,
        f"CREATE DATABASE IF NOT EXISTS `{DB_NAME}` CHARACTER SET utf8mb4;\n"
        f"CREATE USER IF NOT EXISTS '{DB_USER}'@'127.0.0.1' IDENTIFIED BY '{password}';\n"
        f"ALTER USER '{DB_USER}'@'127.0.0.1' IDENTIFIED BY '{password}';\n"
        f"GRANT ALL PRIVILEGES ON `{DB_NAME}`.* TO '{DB_USER}'@'127.0.0.1';\n"
        "FLUSH PRIVILEGES;\n",
    )
