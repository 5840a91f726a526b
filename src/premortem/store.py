"""The site's event store: SQLite (stdlib) in the site's state dir, WAL, versioned schema.

Every command that changes or observes a site records what happened as an event (deploy
steps, rollbacks, fixes, probe failures, detection, diagnosis, resolution, notes); `report`
turns them into the postmortem's timeline. Times are stored as UTC ISO-8601 strings.

Schema migrations are a list of SQL scripts; `PRAGMA user_version` says how many ran.
Add a migration by appending to MIGRATIONS, never by editing an old one.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from premortem.errors import PremortemError

DB_NAME = "premortem.sqlite3"

MIGRATIONS: list[str] = [
    """
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        message TEXT NOT NULL,
        data TEXT NOT NULL DEFAULT '{}',
        incident_id INTEGER
    );
    CREATE INDEX events_at ON events(at);
    """,
    # 2: incidents opened by `watch`, the diagnoses run for them (with their ranked findings
    # kept as rows so they can be queried) and corrective measures added by people.
    """
    CREATE TABLE incidents (
        id INTEGER PRIMARY KEY,
        status TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
        title TEXT NOT NULL,
        trigger TEXT NOT NULL,
        first_error_at TEXT,
        detected_at TEXT NOT NULL,
        recovered_at TEXT,
        resolved_at TEXT,
        data TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX incidents_status ON incidents(status);
    CREATE INDEX events_incident ON events(incident_id);
    CREATE TABLE diagnoses (
        id INTEGER PRIMARY KEY,
        incident_id INTEGER REFERENCES incidents(id),
        at TEXT NOT NULL,
        result TEXT NOT NULL
    );
    CREATE TABLE findings (
        id INTEGER PRIMARY KEY,
        diagnosis_id INTEGER NOT NULL REFERENCES diagnoses(id),
        incident_id INTEGER REFERENCES incidents(id),
        rank INTEGER NOT NULL,
        rule TEXT NOT NULL,
        severity TEXT NOT NULL,
        confidence REAL,
        message TEXT NOT NULL,
        file TEXT,
        line INTEGER,
        data TEXT NOT NULL
    );
    CREATE INDEX findings_incident ON findings(incident_id);
    CREATE TABLE measures (
        id INTEGER PRIMARY KEY,
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        at TEXT NOT NULL,
        text TEXT NOT NULL
    );
    """,
]


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: store only timezone-aware times")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _from_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@dataclass(frozen=True)
class Event:
    id: int
    at: datetime
    kind: str
    message: str
    data: dict[str, Any]
    incident_id: int | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": to_iso(self.at),
            "kind": self.kind,
            "message": self.message,
            "data": self.data,
            "incident_id": self.incident_id,
        }


@dataclass(frozen=True)
class Incident:
    """One outage: opened by `watch` when a threshold is crossed, resolved after a healthy period.

    `first_error_at` is when the first failing request or probe happened (from the access log's
    own timestamp where there is one); `detected_at` is when the incident was opened. The gap
    between them is the time to detect.  `recovered_at` is the start of the healthy period that
    resolved it; `resolved_at` is when that period was long enough to declare it over.
    """

    id: int
    status: str
    title: str
    trigger: str
    first_error_at: datetime | None
    detected_at: datetime
    recovered_at: datetime | None
    resolved_at: datetime | None
    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        def iso(moment: datetime | None) -> str | None:
            return to_iso(moment) if moment else None

        return {
            "id": self.id,
            "status": self.status,
            "title": self.title,
            "trigger": self.trigger,
            "first_error_at": iso(self.first_error_at),
            "detected_at": iso(self.detected_at),
            "recovered_at": iso(self.recovered_at),
            "resolved_at": iso(self.resolved_at),
            "data": self.data,
        }


@dataclass(frozen=True)
class StoredDiagnosis:
    """A stored diagnosis result (the `to_dict()` of premortem.diagnosis's result)."""

    id: int
    incident_id: int | None
    at: datetime
    result: dict[str, Any]

    @property
    def findings(self) -> list[dict[str, Any]]:
        found = self.result.get("findings", [])
        return [f for f in found if isinstance(f, dict)] if isinstance(found, list) else []


@dataclass(frozen=True)
class Measure:
    id: int
    incident_id: int
    at: datetime
    text: str


_INCIDENT_COLUMNS = (
    "id, status, title, trigger, first_error_at, detected_at, recovered_at, resolved_at, data"
)


def _incident_from_row(row: tuple[Any, ...]) -> Incident:
    detected = _from_iso(row[5])
    assert detected is not None  # NOT NULL in the schema
    return Incident(
        id=row[0],
        status=row[1],
        title=row[2],
        trigger=row[3],
        first_error_at=_from_iso(row[4]),
        detected_at=detected,
        recovered_at=_from_iso(row[6]),
        resolved_at=_from_iso(row[7]),
        data=json.loads(row[8]),
    )


def _event_filter(
    since: datetime | None,
    until: datetime | None,
    kinds: Iterable[str] | None,
    incident_id: int | None,
) -> tuple[str, list[Any]]:
    """The WHERE clause (empty when nothing is filtered) and its parameters."""
    clauses: list[str] = []
    params: list[Any] = []
    if since is not None:
        clauses.append("at >= ?")
        params.append(to_iso(since))
    if until is not None:
        clauses.append("at <= ?")
        params.append(to_iso(until))
    if kinds is not None:
        kind_list = list(kinds)
        clauses.append(f"kind IN ({','.join('?' * len(kind_list))})")
        params.extend(kind_list)
    if incident_id is not None:
        clauses.append("incident_id = ?")
        params.append(incident_id)
    return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), params


@contextmanager
def _clear_errors(path: Path) -> Iterator[None]:
    """Turn SQLite failures (corruption, disk full, locked) into one clear message."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        if exc.sqlite_errorcode in (sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR_WRITE):
            # Nothing wrong with the store: its disk, which is the fix.
            raise PremortemError(
                f"the event store {path} cannot be written: {exc} (free space on its disk)"
            ) from None
        raise PremortemError(
            f"the event store {path} cannot be used: {exc}. It was left as it is; "
            "move it aside (a new one is created) or restore it from a backup"
        ) from None


class Store:
    """A connection to one site's store. Use `open_store(state_dir)`."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self.connection = connection
        self.path = path
        self._identity = _file_identity(path)

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def file_replaced(self) -> bool:
        """True when the database file was deleted or replaced since this store opened it.

        SQLite keeps writing to the unlinked file, which nobody will ever read: a long-running
        writer (watch) checks this and reopens so that what it records stays visible.
        """
        return _file_identity(self.path) != self._identity

    def add_event(
        self,
        kind: str,
        message: str,
        *,
        data: dict[str, Any] | None = None,
        at: datetime | None = None,
        incident_id: int | None = None,
    ) -> int:
        with _clear_errors(self.path), self.connection:
            return self._insert_event(kind, message, data, at or utcnow(), incident_id)

    def _insert_event(
        self,
        kind: str,
        message: str,
        data: dict[str, Any] | None,
        at: datetime,
        incident_id: int | None,
    ) -> int:
        """One events row, inside the caller's transaction (incidents write theirs with it)."""
        cursor = self.connection.execute(
            "INSERT INTO events (at, kind, message, data, incident_id) VALUES (?, ?, ?, ?, ?)",
            (to_iso(at), kind, message, json.dumps(data or {}, sort_keys=True), incident_id),
        )
        return int(cursor.lastrowid or 0)

    def events(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        kinds: Iterable[str] | None = None,
        incident_id: int | None = None,
    ) -> list[Event]:
        where, params = _event_filter(since, until, kinds, incident_id)
        with _clear_errors(self.path):
            rows = self.connection.execute(
                f"SELECT id, at, kind, message, data, incident_id FROM events {where} "
                "ORDER BY at, id",
                params,
            ).fetchall()
        return [
            Event(
                id=row[0],
                at=datetime.fromisoformat(row[1]),
                kind=row[2],
                message=row[3],
                data=json.loads(row[4]),
                incident_id=row[5],
            )
            for row in rows
        ]

    # -- incidents -------------------------------------------------------------------------

    def open_incident(
        self,
        *,
        title: str,
        trigger: str,
        detected_at: datetime,
        first_error_at: datetime | None,
        data: dict[str, Any] | None = None,
    ) -> Incident:
        """Record a new open incident and its `incident.open` event in one transaction."""
        with _clear_errors(self.path), self.connection:
            cursor = self.connection.execute(
                "INSERT INTO incidents (status, title, trigger, first_error_at, detected_at, data)"
                " VALUES ('open', ?, ?, ?, ?, ?)",
                (
                    title,
                    trigger,
                    to_iso(first_error_at) if first_error_at else None,
                    to_iso(detected_at),
                    json.dumps(data or {}, sort_keys=True),
                ),
            )
            incident_id = int(cursor.lastrowid or 0)
            self._insert_event(
                "incident.open",
                f"incident {incident_id} opened: {title}",
                {"trigger": trigger, **(data or {})},
                detected_at,
                incident_id,
            )
        incident = self.incident(incident_id)
        assert incident is not None
        return incident

    def resolve_incident(
        self,
        incident_id: int,
        *,
        resolved_at: datetime,
        recovered_at: datetime | None = None,
        message: str = "",
        data: dict[str, Any] | None = None,
    ) -> Incident:
        """Mark an open incident resolved and record the `incident.resolved` event."""
        with _clear_errors(self.path), self.connection:
            changed = self.connection.execute(
                "UPDATE incidents SET status = 'resolved', resolved_at = ?, recovered_at = ? "
                "WHERE id = ? AND status = 'open'",
                (
                    to_iso(resolved_at),
                    to_iso(recovered_at or resolved_at),
                    incident_id,
                ),
            ).rowcount
            if changed:
                self._insert_event(
                    "incident.resolved",
                    message or f"incident {incident_id} resolved",
                    data,
                    resolved_at,
                    incident_id,
                )
        incident = self.incident(incident_id)
        if incident is None:
            raise PremortemError(f"no incident {incident_id} in {self.path}")
        return incident

    def incident(self, incident_id: int) -> Incident | None:
        with _clear_errors(self.path):
            row = self.connection.execute(
                f"SELECT {_INCIDENT_COLUMNS} FROM incidents WHERE id = ?", (incident_id,)
            ).fetchone()
        return _incident_from_row(row) if row else None

    def incidents(self, *, status: str | None = None) -> list[Incident]:
        where, params = ("WHERE status = ?", [status]) if status else ("", [])
        with _clear_errors(self.path):
            rows = self.connection.execute(
                f"SELECT {_INCIDENT_COLUMNS} FROM incidents {where} ORDER BY id", params
            ).fetchall()
        return [_incident_from_row(row) for row in rows]

    # -- diagnoses and findings --------------------------------------------------------------

    def add_diagnosis(
        self, result: dict[str, Any], *, incident_id: int | None, at: datetime | None = None
    ) -> int:
        """Store a diagnosis result; its findings (ranked, [0] = root cause) become rows."""
        moment = to_iso(at or utcnow())
        with _clear_errors(self.path), self.connection:
            cursor = self.connection.execute(
                "INSERT INTO diagnoses (incident_id, at, result) VALUES (?, ?, ?)",
                (incident_id, moment, json.dumps(result, sort_keys=True, default=str)),
            )
            diagnosis_id = int(cursor.lastrowid or 0)
            findings = result.get("findings", [])
            for rank, finding in enumerate(findings if isinstance(findings, list) else []):
                if not isinstance(finding, dict):
                    continue
                self.connection.execute(
                    "INSERT INTO findings (diagnosis_id, incident_id, rank, rule, severity,"
                    " confidence, message, file, line, data) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (
                        diagnosis_id,
                        incident_id,
                        rank,
                        str(finding.get("rule", "")),
                        str(finding.get("severity", "")),
                        finding.get("confidence"),
                        str(finding.get("message", "")),
                        finding.get("file"),
                        finding.get("line"),
                        json.dumps(finding, sort_keys=True, default=str),
                    ),
                )
        return diagnosis_id

    def diagnoses(self, incident_id: int) -> list[StoredDiagnosis]:
        with _clear_errors(self.path):
            rows = self.connection.execute(
                "SELECT id, incident_id, at, result FROM diagnoses WHERE incident_id = ? "
                "ORDER BY at, id",
                (incident_id,),
            ).fetchall()
        return [
            StoredDiagnosis(
                id=r[0], incident_id=r[1], at=datetime.fromisoformat(r[2]), result=json.loads(r[3])
            )
            for r in rows
        ]

    def findings(self, incident_id: int) -> list[dict[str, Any]]:
        """The findings of the incident's latest diagnosis, root cause first."""
        with _clear_errors(self.path):
            rows = self.connection.execute(
                "SELECT data FROM findings WHERE diagnosis_id = (SELECT max(id) FROM diagnoses"
                " WHERE incident_id = ?) ORDER BY rank",
                (incident_id,),
            ).fetchall()
        return [json.loads(row[0]) for row in rows]

    # -- corrective measures ------------------------------------------------------------------

    def add_measure(self, incident_id: int, text: str, *, at: datetime | None = None) -> int:
        with _clear_errors(self.path), self.connection:
            cursor = self.connection.execute(
                "INSERT INTO measures (incident_id, at, text) VALUES (?, ?, ?)",
                (incident_id, to_iso(at or utcnow()), text),
            )
        return int(cursor.lastrowid or 0)

    def measures(self, incident_id: int) -> list[Measure]:
        with _clear_errors(self.path):
            rows = self.connection.execute(
                "SELECT id, incident_id, at, text FROM measures WHERE incident_id = ? ORDER BY id",
                (incident_id,),
            ).fetchall()
        return [Measure(r[0], r[1], datetime.fromisoformat(r[2]), r[3]) for r in rows]


def _file_identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _statements(script: str) -> list[str]:
    statements: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    return statements


def _migrate(connection: sqlite3.Connection) -> None:
    """Run the missing migrations, each in a write transaction that re-reads the version.

    Several processes may open a new store at once (watch, deploy, report): BEGIN IMMEDIATE
    makes them take turns, and whoever comes second sees the version already raised.
    """
    while True:
        connection.execute("BEGIN IMMEDIATE")
        try:
            version = int(connection.execute("PRAGMA user_version").fetchone()[0])
            if version > len(MIGRATIONS):
                raise PremortemError(
                    f"the store was written by a newer premortem (schema {version}); "
                    "upgrade premortem"
                )
            if version == len(MIGRATIONS):
                connection.execute("COMMIT")
                return
            for statement in _statements(MIGRATIONS[version]):
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {version + 1}")
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise


def _refuse_redirectable(state_dir: Path, path: Path) -> None:
    """As root, refuse a store another user could redirect: SQLite follows symlinks, so a
    store file (or its -wal/-shm/-journal) that is a symlink, or a state dir owned or
    writable by another user (who could plant one), would have root write where they chose."""
    if os.geteuid() != 0:
        return
    st = os.lstat(state_dir)
    if stat.S_ISLNK(st.st_mode) and st.st_uid != 0:
        problem = f"{state_dir} is a symlink owned by uid {st.st_uid}"
    else:
        st = os.stat(state_dir)
        problem = ""
        if st.st_uid != 0:
            problem = f"{state_dir} belongs to uid {st.st_uid}, not root"
        elif st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
            problem = f"{state_dir} is writable by its group or by everyone"
    for suffix in ("", "-wal", "-shm", "-journal"):
        candidate = path.with_name(path.name + suffix)
        if not problem and candidate.is_symlink():
            problem = f"{candidate} is a symlink"
    if problem:
        raise PremortemError(
            f"refusing the event store in {state_dir}: {problem}; another user could redirect "
            "what premortem (as root) writes there. Use a state dir only root can write "
            "(the default is under /var/lib/premortem)"
        )


def store_path(state_dir: Path) -> Path:
    return state_dir / DB_NAME


def open_store(state_dir: Path, *, create: bool = True) -> Store:
    """Open the store in `state_dir`, migrated to the current schema.

    With `create=False` a missing store is a PremortemError instead of a new empty file
    (for commands that only read, like `incidents` and `report`). A file that is not a
    usable SQLite database is never overwritten: the error says so and leaves it in place.
    """
    path = store_path(state_dir)
    if not create and not path.exists():
        raise PremortemError(
            f"no event store at {path}: nothing has been recorded for this site yet "
            "(watch, deploy and fix create it)"
        )
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        _refuse_redirectable(state_dir, path)
        connection = sqlite3.connect(path, timeout=10, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise PremortemError(f"cannot open the event store in {state_dir}: {exc}") from None
    try:
        with _clear_errors(path):
            # WAL lets watch write while deploy/report read; busy_timeout covers short races.
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA busy_timeout=10000")
            connection.isolation_level = "DEFERRED"
            _migrate(connection)
            # Reading the schema catches a damaged header or catalogue now, with a clear
            # message, rather than in the middle of a later command.
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except BaseException:
        connection.close()
        raise
    return Store(connection, path)
