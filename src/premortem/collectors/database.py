"""The database collector: where the site's database server keeps its socket, PID file and log.

- the running MariaDB/MySQL server the site uses (psutil; with several on the host, the one
  whose socket, PID file or port DB_HOST or the site config names): its PID, the log it
  writes (``log_error`` is the file on its stderr, descriptor 2) and the directories of its
  socket and PID file (read from its ``--defaults-file`` and ``--socket``/``--pid-file``);
- when it is not running: the same facts from the site config
  (``db_socket``, ``db_pid_file``), from WordPress's ``DB_HOST`` when it names a socket
  (``localhost:/run/mysqld/mysqld.sock``), and Debian's default ``/run/mysqld``.

Those directories let the host collector measure the file system the database needs to
start; the log lets the logs collector quote the server's own reason ("Access denied for
user", "can't create PID file: No space left on device"). Read-only; never connects to the
database.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from premortem.host import Host

DB_PROCESS_NAMES = ("mariadbd", "mysqld")
DEBIAN_RUN_DIR = "/run/mysqld"
_OPTION_RE = re.compile(r"^\s*(?P<key>[a-z_-]+)\s*=\s*(?P<value>.+?)\s*$", re.IGNORECASE)


@dataclass
class DatabaseEvidence:
    running: bool = False
    pid: int | None = None
    log_file: str = ""
    run_dirs: list[str] = field(default_factory=list)
    config_file: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class KnownDatabase:
    """What the site config says about its database server (`db_socket`, `db_pid_file`,
    `db_port`); empty when it says nothing."""

    socket: str = ""
    pid_file: str = ""
    port: int = 0

    @property
    def named(self) -> bool:
        return bool(self.socket or self.pid_file or self.port)


def collect_database(db_host: str, known: KnownDatabase | None, host: Host) -> DatabaseEvidence:
    """`db_host`: WordPress's DB_HOST; `known`: the site config's database settings.

    With several database servers on the host, the site's is the one whose socket, PID file
    or listening port is the one DB_HOST (or the site config) names.
    """
    known = known or KnownDatabase()
    evidence = DatabaseEvidence()
    wanted = _wanted(db_host, known)
    dirs: list[str] = []
    listening = host.listening()
    for proc in host.processes():
        if proc.zombie or proc.name not in DB_PROCESS_NAMES:
            continue
        options = _options_of(list(proc.cmdline))
        config_file = options.get("defaults-file", "")
        if config_file:
            options = {**_read_mysqld_section(config_file, host), **options}
        ports = {str(s.port) for s in listening if s.pid == proc.pid}
        if not _is_wanted(ports, options, wanted):
            continue
        evidence.running, evidence.pid = True, proc.pid
        evidence.config_file = config_file
        evidence.log_file = host.stderr_file(proc.pid) or options.get("log-error", "")
        for key in ("socket", "pid-file"):
            if options.get(key):
                dirs.append(os.path.dirname(options[key]))
        break
    dirs += [os.path.dirname(value) for value in (known.socket, known.pid_file) if value]
    dirs += [os.path.dirname(p) for p in wanted["sockets"]]
    if not known.named and host.stat(DEBIAN_RUN_DIR).kind == "dir":
        dirs.append(DEBIAN_RUN_DIR)
    evidence.run_dirs = list(dict.fromkeys(d for d in dirs if d))
    return evidence


def _wanted(db_host: str, known: KnownDatabase) -> dict[str, set[str]]:
    """The sockets, PID files and TCP ports that identify the site's database server."""
    sockets: set[str] = set()
    pid_files: set[str] = set()
    ports: set[str] = set()
    host, _, tail = db_host.partition(":")
    if tail.startswith("/"):
        sockets.add(tail)
    elif tail.isascii() and tail.isdigit():
        ports.add(tail)
    elif host in ("localhost", ""):
        sockets.add(DEBIAN_RUN_DIR + "/mysqld.sock")  # PHP's default for "localhost"
    else:
        ports.add("3306")
    if known.socket:
        sockets.add(known.socket)
    if known.pid_file:
        pid_files.add(known.pid_file)
    if known.port:
        ports.add(str(known.port))
    return {"sockets": sockets, "pid_files": pid_files, "ports": ports}


def _is_wanted(ports: set[str], options: dict[str, str], wanted: dict[str, set[str]]) -> bool:
    """`ports`: where the server listens, as the host sees it."""
    if options.get("socket") in wanted["sockets"] or options.get("pid-file") in wanted["pid_files"]:
        return True
    return options.get("port", "3306") in wanted["ports"] or bool(ports & wanted["ports"])


def _options_of(cmdline: list[str]) -> dict[str, str]:
    """``--name=value`` arguments of mysqld (underscores and dashes are the same)."""
    options: dict[str, str] = {}
    for arg in cmdline[1:]:
        if arg.startswith("--") and "=" in arg:
            key, value = arg[2:].split("=", 1)
            options[key.replace("_", "-").lower()] = value
    return options


# A my.cnf is a few KiB; more is not one.
MAX_MY_CNF_BYTES = 8 * 1024 * 1024


def _read_mysqld_section(path: str, host: Host) -> dict[str, str]:
    """Options of the [mysqld]/[mariadb]/[server] sections of a my.cnf (no !include)."""
    data = host.read_bytes(path, MAX_MY_CNF_BYTES)
    if data is None:
        return {}
    text = data.decode("utf-8", errors="replace")
    options: dict[str, str] = {}
    section = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1].strip().lower()
            continue
        if section not in ("mysqld", "mariadb", "server", "mariadbd"):
            continue
        match = _OPTION_RE.match(stripped)
        if match and not stripped.startswith(("#", ";")):
            options[match.group("key").replace("_", "-").lower()] = match.group("value")
    return options
