"""Evidence collectors: each gathers one kind of raw evidence, bounded in time, read-only.

One module per collector (http, server, tls, database, logs, trace, changes, host, files). Each
returns its own dataclass; a collector that fails records what it could not see instead of
stopping the others. The diagnosis engine (premortem.diagnosis) runs them and hands an
:class:`EvidenceSet` to the analyzers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from premortem.model import FileEvidence

if TYPE_CHECKING:
    from premortem.collectors.changes import ChangesEvidence
    from premortem.collectors.database import DatabaseEvidence
    from premortem.collectors.host import HostEvidence
    from premortem.collectors.http import HttpEvidence
    from premortem.collectors.logs import LogEvidence
    from premortem.collectors.server import ServerEvidence
    from premortem.collectors.tls import TlsEvidence
    from premortem.collectors.trace import TraceEvidence
    from premortem.siteconfig import SiteConfig


@dataclass
class EvidenceSet:
    """Everything the collectors saw; None where a collector did not run or failed."""

    url: str
    http: HttpEvidence | None = None
    server: ServerEvidence | None = None
    logs: LogEvidence | None = None
    trace: TraceEvidence | None = None
    changes: ChangesEvidence | None = None
    host: HostEvidence | None = None
    database: DatabaseEvidence | None = None
    # An https URL: the certificate, key and chain files the server config names.
    tls: TlsEvidence | None = None
    # What the files the evidence names look like (collectors/files.py): analyzers read no file.
    files: FileEvidence | None = None
    # The site config (premortem.toml) when one was given: how the site's servers are run.
    site: SiteConfig | None = None
    docroot: str | None = None
    web_user: str = "www-data"
    could_not_see: list[str] = field(default_factory=list)
