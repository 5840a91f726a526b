"""One site's requests from an access log that may be shared with other sites.

Debian's ``other_vhosts_access.log`` (``vhost_combined``: ``%v:%p %h ...``) and an nginx log
with ``$host``/``$server_port`` hold every virtual host's requests; a record that says where
it was served (`AccessRecord.vhost`/`.port`) belongs to the site when its name is one of the
site's (ServerName/ServerAlias, server_name; case-insensitive, with ``*.example.com``,
nginx's ``.example.com`` and ``~regex`` names) and its port is the site's. A record that
does not say is kept: its log is the site's own.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path

from premortem.accesslog.formats import COMBINED, AccessLogFormat
from premortem.accesslog.matching import Parser
from premortem.accesslog.record import AccessRecord


class SiteFilter:
    """Which records of a shared log are the site's: `names` (empty: any) and `port`."""

    def __init__(self, names: Iterable[str] = (), port: int | None = None) -> None:
        # nginx's "_" and "" name no host; they cannot select lines.
        self.names = frozenset(n.lower().rstrip(".") for n in names if n not in ("", "_"))
        self.port = port
        self._patterns = [_name_pattern(name) for name in sorted(self.names)]

    @property
    def selects(self) -> bool:
        return bool(self.names) or self.port is not None

    def keeps(self, record: AccessRecord) -> bool:
        if record.port is not None and self.port is not None and record.port != self.port:
            return False
        if record.vhost is None or not self.names:
            return True
        return self.matches(record.vhost.lower().rstrip("."))

    def matches(self, vhost: str) -> bool:
        """Whether a (lower-case, no trailing dot) virtual host name is one of the site's."""
        return vhost in self.names or any(p.fullmatch(vhost) for p in self._patterns)

    def describe(self) -> str:
        names = ", ".join(sorted(self.names)) or "any name"
        return names + (f" on port {self.port}" if self.port is not None else "")


def _name_pattern(name: str) -> re.Pattern[str]:
    if name.startswith("~"):
        try:
            return re.compile(f"(?:{name[1:]})")
        except re.error:  # "~(": nginx would not start with it; it names no host
            return re.compile(r"(?!)")
    if name.startswith("."):  # nginx: the domain and all its subdomains
        return re.compile(rf"(?:.*\.)?{re.escape(name[1:])}")
    return re.compile(fnmatch.translate(name))


class SiteLog:
    """How to read one site's requests: the log's format and, when the log is shared,
    which of its lines are the site's. `parse(line)`: the site's record, or None."""

    def __init__(
        self, log_format: AccessLogFormat = COMBINED, site: SiteFilter | None = None
    ) -> None:
        self.log_format = log_format
        self.site = site or SiteFilter()
        shared = log_format.logs_vhost or log_format.logs_port
        self.filters = shared and self.site.selects
        # Nothing to filter: the format's own parser, no extra call per line.
        self.parse: Parser = self._kept if self.filters else log_format.parse

    def _kept(self, line: str) -> AccessRecord | None:
        record = self.log_format.parse(line)
        return record if record is not None and self.site.keeps(record) else None

    def describe(self) -> str:
        """For messages: the format, and the site's lines when the log is shared."""
        text = self.log_format.spec or "combined"
        if self.filters:
            text += f"; only the lines of {self.site.describe()}"
        return text


def read_records(
    path: Path | str, since: datetime | None = None, *, site_log: SiteLog | None = None
) -> Iterator[AccessRecord]:
    """Records of an access log, oldest first; undecodable bytes and bad lines are skipped
    (as are other sites' lines of a shared log, with `site_log`).

    `since` must be timezone-aware (log times carry their offset).
    """
    parse = site_log.parse if site_log is not None else COMBINED.parse
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            record = parse(line)
            if record is None:
                continue
            if since is not None and record.time < since:
                continue
            yield record
