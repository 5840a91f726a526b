"""The `database-connection` analyzer of `premortem diagnose` (documented on its class)."""

from __future__ import annotations

import re

from premortem.analyzers._common import (
    log_quote,
    wp_config_define_line,
    wp_config_value,
)
from premortem.analyzers._servers import database_start_command
from premortem.analyzers.base import Analyzer
from premortem.collectors import EvidenceSet
from premortem.model import Finding, Fix, Quote

WP_DB_ERROR = "Error establishing a database connection"
DB_PORTS = {3306, 3307, 33060}
_LOG_RE = re.compile(
    r"(?:mysqli?_(?:real_)?connect|PDO::__construct|mysqli::real_connect)\(\):? "
    r"\((?P<code>HY000/\d+)\): (?P<reason>.*?)(?: in /|$)"
)
# The database server's own log line for refused credentials (MariaDB/MySQL).
_SERVER_DENIED_RE = re.compile(r"Access denied for user '[^']*'@'[^']*'")
_FD_RE = re.compile(r"^(\d+),")
_PORT_RE = re.compile(r"sin6?_port=htons\((\d+)\)")
_ADDR_RE = re.compile(r'sin_addr=inet_addr\("([^"]+)"\)|sun_path="([^"]+)"')


class DatabaseConnection(Analyzer):
    """
    ## What it does
    Recognises WordPress's "Error establishing a database connection" page, PHP's
    `mysqli_real_connect(): (HY000/2002): Connection refused` / `No such file or directory`
    (socket missing) / `(HY000/1045): Access denied` log lines, and in the trace a
    `connect()` to the database port or socket that failed (`ECONNREFUSED` via
    `SO_ERROR`, `ENOENT` on a missing `mysqld.sock`). It says which address was tried
    and whether a MariaDB/MySQL server runs on the host. When the database server's own log
    says `Access denied for user` (or PHP does), it names the `DB_PASSWORD` line of
    wp-config.php (never its value).

    ## Why it breaks sites
    Without its database WordPress cannot load options, posts or users, so every dynamic page
    answers 500 with the same error page, while static files still work.

    ## Example
    `connect(11, {sa_family=AF_INET, sin_port=htons(3306), ...}) = -1 EINPROGRESS` then
    `getsockopt(11, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4])`.

    ## Fix
    Start the database the way the host can (`systemctl start mariadb` with systemd,
    `service mariadb start` with its init script, else `mysqld_safe &`; for a premortem lab
    `premortem lab up --dir DIR`, the site config's `start_command`); if it runs, compare DB_HOST in
    wp-config.php with where it listens; for "Access denied" check DB_USER/DB_PASSWORD.
    """

    code = "database-connection"
    summary = "PHP cannot reach the database server"

    def analyze(self, evidence: EvidenceSet) -> list[Finding]:
        db_host = wp_config_value(evidence, "DB_HOST") or ""
        quotes: list[Quote] = []
        if evidence.http is not None and WP_DB_ERROR in evidence.http.body:
            quotes.append(Quote("http", f'{evidence.http.status} with "{WP_DB_ERROR}"'))
        trace_quotes, target = _failed_connects(evidence, _db_ports(db_host), bool(quotes))
        quotes += trace_quotes
        log_quotes, access_denied = _logged_failures(evidence, bool(quotes))
        quotes += log_quotes
        if not quotes:
            return []
        sources = {q.source for q in quotes}
        if sources == {"trace"} and not (evidence.http and (evidence.http.status or 0) >= 500):
            return []  # a failed optional connection on a page that works
        running = evidence.server.running.get("mariadb") if evidence.server else None
        if evidence.database is not None:
            running = evidence.database.running  # the site's own database server
        if access_denied:
            finding = _denied(evidence)
        else:
            finding = _unreachable(evidence, quotes, target, running, db_host)
        if running is False:
            quotes.append(
                Quote("host", "no mariadbd/mysqld process serves the site's database")
                if evidence.database is not None
                else Quote("host", "no mariadbd/mysqld process is running")
            )
        finding.confidence = min(0.6 + 0.15 * len(sources), 0.97)
        finding.evidence = list(dict.fromkeys(quotes))[:6]
        return [finding]


def _db_ports(db_host: str) -> set[int]:
    ports = set(DB_PORTS)
    tail = db_host.rsplit(":", 1)[-1]
    if tail.isascii() and tail.isdigit():
        ports.add(int(tail))
    return ports


def _failed_connects(
    evidence: EvidenceSet, db_ports: set[int], page_says_so: bool
) -> tuple[list[Quote], str]:
    """The traced connections to the database that failed, and where the first one went.

    A failed connect counts when it goes to a database port or socket, or when the page
    already says the database is unreachable (then any failed connect is suspect).
    """
    if evidence.trace is None:
        return [], ""
    quotes: list[Quote] = []
    target = ""
    connects: dict[tuple[int, str], str] = {}
    for call in evidence.trace.calls:
        suspect = page_says_so or bool(quotes)
        fd = _FD_RE.match(call.args)
        if call.name == "connect":
            where = _connect_target(call.args)
            if fd:
                connects[(call.pid, fd.group(1))] = where
            port = _PORT_RE.search(call.args)
            is_db = bool(port and int(port.group(1)) in db_ports) or "mysql" in where
            if call.errno in ("ECONNREFUSED", "ENOENT", "ETIMEDOUT", "EACCES") and (
                is_db or suspect
            ):
                target = target or where
                quotes.append(Quote("trace", call.text))
        elif call.socket_error and call.socket_error != "0":
            where = connects.get((call.pid, fd.group(1)), "") if fd else ""
            tail = where.rsplit(":", 1)[-1]
            to_db = tail.isascii() and tail.isdigit() and int(tail) in db_ports
            if to_db or "mysql" in where or suspect:
                target = target or where
                quotes.append(Quote("trace", f"connect to {where or '?'} failed: {call.text}"))
    return quotes, target


def _connect_target(args: str) -> str:
    """`HOST:PORT` or the socket path a traced connect() went to ("" when not said)."""
    port = _PORT_RE.search(args)
    addr = _ADDR_RE.search(args)
    if not addr:
        return ""
    return addr.group(2) or f"{addr.group(1)}:{port.group(1) if port else '?'}"


def _logged_failures(evidence: EvidenceSet, connection_failed: bool) -> tuple[list[Quote], bool]:
    """PHP's logged database error of the request (and whether it was "Access denied")."""
    if evidence.logs is None:
        return [], False
    quotes: list[Quote] = []
    access_denied = False
    for logged in evidence.logs.request_lines():
        match = _LOG_RE.search(logged.message)
        if match:
            access_denied = "Access denied" in match.group("reason")
            quotes.append(log_quote(logged.raw))
            break
    if quotes or connection_failed:
        # Only with a failed connection seen: other clients' denials are not ours.
        for logged in evidence.logs.request_lines():
            if logged.module == "mariadb" and _SERVER_DENIED_RE.search(logged.message):
                access_denied = True
                quotes.append(log_quote(logged.raw))
                break
    return quotes, access_denied


def _denied(evidence: EvidenceSet) -> Finding:
    file, line = "wp-config.php", None
    message = "the database refuses WordPress's credentials (Access denied)"
    place = wp_config_define_line(evidence, "DB_PASSWORD")
    if place:
        file, line = place
        message += f": DB_PASSWORD ({file}:{line}) or DB_USER does not match the database"
    fix = Fix(
        description=f"put the database user's password in DB_PASSWORD ({file}"
        + (f" line {line}" if line else "")
        + "), or reset that user's password in the database; check DB_USER too"
    )
    return Finding(DatabaseConnection.code, "error", message, file=file, line=line, fix=fix)


def _unreachable(
    evidence: EvidenceSet, quotes: list[Quote], target: str, running: bool | None, db_host: str
) -> Finding:
    where = f" at {target}" if target else ""
    state = ""
    if any("ECONNREFUSED" in q.text for q in quotes):
        state = "; nothing accepts connections there"
    if running is False:
        state = (
            "; the site's database server is not running"
            if evidence.database is not None
            else "; no MariaDB/MySQL server is running on this host"
        )
    if db_host:
        quotes.append(Quote("config", f"wp-config.php DB_HOST is {db_host}"))
    fix = Fix(
        description="start the database server (or fix DB_HOST to where it listens)",
        commands=(database_start_command(evidence),),
    )
    message = f"PHP cannot connect to the database{where}{state}"
    return Finding(DatabaseConnection.code, "error", message, file="wp-config.php", fix=fix)
