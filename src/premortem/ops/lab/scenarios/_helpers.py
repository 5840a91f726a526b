"""What several scenarios share: small steps, and the families whose only difference is data.

A family class (`SiteFault`, `StoppedService`, `EditedLine`, `ChangedMode`, `ListensElsewhere`,
`HtaccessLines`, `ServedCertificate`, `PartialFault`) implements `inject` once; a scenario
of the family declares its data (which service, which line, which config) and nothing else.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from premortem.errors import PremortemError
from premortem.ops.lab import apache, mariadb, nginx, phpfpm, tls
from premortem.ops.lab.procs import free_port
from premortem.ops.lab.scenarios.base import Expected, Scenario

if TYPE_CHECKING:
    from pathlib import Path

    from premortem.ops.lab.core import Lab
    from premortem.ops.lab.journal import FaultJournal
    from premortem.ops.lab.layout import LabPaths

# How the lab stops each of its services (`lab repair` starts the ones the journal noted).
STOPS: dict[str, Callable[[LabPaths], None]] = {
    "apache": apache.DAEMON.stop,
    "nginx": nginx.DAEMON.stop,
    "php-fpm": phpfpm.DAEMON.stop,
    "mariadb": mariadb.stop,
}


def replace_line(journal: FaultJournal, path: Path, line: int, old: str, new: str) -> None:
    """Replace old by new on one line (1-based) of path, checking the line holds old."""
    lines = path.read_bytes().decode("utf-8").split("\n")
    if old not in lines[line - 1]:
        raise PremortemError(f"{path}:{line} does not hold {old!r}; is this Debian's WordPress?")
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    journal.write_bytes(path, "\n".join(lines).encode("utf-8"))


def edit_server_config(lab: Lab, journal: FaultJournal, path: Path, old: str, new: str) -> None:
    """Change a config file of the lab's web server and restart it so the change takes effect."""
    journal.note_restart_apache()  # i.e. restart the lab's web server, Apache or nginx
    journal.replace_text(path, old, new)
    lab.restart_server()


def edit_apache_config(lab: Lab, journal: FaultJournal, old: str, new: str) -> None:
    """Change the lab's httpd.conf and restart Apache so the change takes effect."""
    edit_server_config(lab, journal, lab.paths.httpd_conf, old, new)


class StoppedService(Scenario):
    """One of the lab's services stopped (noted in the journal, so repair starts it)."""

    service: ClassVar[str]

    def inject(self, lab: Lab, journal: FaultJournal) -> None:
        journal.note_stopped(self.service)
        STOPS[self.service](lab.paths)


class SiteFault(Scenario):
    """A fault of the site itself (its PHP code, files or database), not of its server:
    every flavour answers 500."""

    http_status = 500
    servers = ("apache", "nginx", "apache-fpm")


class EditedLine(SiteFault):
    """One line of a release file changed: `old` becomes `new` on line `expected.line`."""

    old: ClassVar[str]
    new: ClassVar[str]

    def inject(self, lab: Lab, journal: FaultJournal) -> None:
        file, line = self.expected.file, self.expected.line
        assert file is not None and line is not None, "an EditedLine scenario names its line"
        replace_line(journal, lab.release_dir / file, line, self.old, self.new)


class ChangedMode(SiteFault):
    """A path of the release (`expected.file`) given a mode the web server cannot use."""

    mode: ClassVar[int]

    def inject(self, lab: Lab, journal: FaultJournal) -> None:
        assert self.expected.file is not None, "a ChangedMode scenario names its path"
        journal.chmod(lab.release_dir / self.expected.file, self.mode)


class ListensElsewhere(Scenario):
    """The web server runs but listens on a free port other than the URL's."""

    # The server's config file (a LabPaths attribute) and its listen line, with {port}.
    config_file: ClassVar[str]
    listen: ClassVar[str]
    expected = Expected(diagnosis="not-listening")
    http_status = None
    order = 30

    def inject(self, lab: Lab, journal: FaultJournal) -> None:
        port, other = lab._require_state().port, free_port()
        journal.note("listen_port", other)
        config: Path = getattr(lab.paths, self.config_file)
        old, new = self.listen.format(port=port), self.listen.format(port=other)
        edit_server_config(lab, journal, config, old, new)


class HtaccessLines(Scenario):
    """Lines added to the release's .htaccess: `before` WordPress's block, `after` it."""

    before: ClassVar[bytes] = b""
    after: ClassVar[bytes] = b""
    # Only Apache reads .htaccess.
    servers = ("apache", "apache-fpm")

    def inject(self, lab: Lab, journal: FaultJournal) -> None:
        htaccess = lab.release_dir / ".htaccess"
        journal.write_bytes(htaccess, self.before + htaccess.read_bytes() + self.after)


class ServedCertificate(Scenario):
    """A TLS lab serving another certificate than its good one: re-issued by the lab's
    intermediate for the same key (`names`, `not_before`/`not_after` in days from now), with
    the intermediate sent after it or not (`with_chain`). The server reloads gracefully."""

    names: ClassVar[tuple[str, ...]] = ()
    # Validity relative to now, in days (None: the usual).
    valid_from_days: ClassVar[int | None] = None
    valid_until_days: ClassVar[int | None] = None
    with_chain: ClassVar[bool] = True
    expected = Expected(diagnosis="tls-certificate")
    # The handshake fails: no HTTP answer at all.
    http_status = None
    servers = ("apache", "nginx")
    tls_only = True
    order = 60

    def inject(self, lab: Lab, journal: FaultJournal) -> None:
        paths = lab.paths
        now = datetime.datetime.now(datetime.UTC)

        def days(count: int | None) -> datetime.datetime | None:
            return None if count is None else now + datetime.timedelta(days=count)

        cert = tls.reissued(
            paths,
            list(self.names) or None,
            not_before=days(self.valid_from_days),
            not_after=days(self.valid_until_days),
        )
        alone, fullchain = tls.served_files(paths, cert)
        journal.note_restart_apache()  # i.e. reload the lab's web server again on repair
        journal.write_bytes(paths.tls_cert, alone)
        journal.write_bytes(paths.tls_fullchain, fullchain if self.with_chain else alone)
        if not self.with_chain and lab.server.name == "apache":
            chain_line = f'SSLCertificateChainFile "{paths.tls_chain}"\n'
            journal.replace_text(paths.httpd_conf, chain_line, f"# {chain_line}")
        lab.restart_server()


# Faults that break some pages only (the feed, search results, one template): the family.
#
# The seed's outage hit "35% of users": only the requests that went through the broken code.
# A fault of this family leaves `/` (and the deploy's smoke paths) answering 200 and makes
# `broken_path` answer 500, so the stage's smoke test passes it and only deploy's replay of
# users' URLs (or watch, once users meet it) catches it. `break_release(path)` writes the
# same fault into a release tree (a copy to deploy), `inject` into the lab's live release.


def page_helper_plugin(page: str) -> str:
    """A mu-plugin that calls an undefined `premortem_<page>_helper()` on line 9, only when
    WordPress serves that kind of page (`is_<page>()`: feed, search)."""
    return f"""<?php
/**
 * Plugin Name: premortem {page} helper (lab fault)
 * Description: {page} pages call a helper that a missing library would define.
 */

add_action('template_redirect', function () {{
    if (is_{page}()) {{
        premortem_{page}_helper();
    }}
}});
"""


@dataclass(frozen=True)
class Edit:
    """A file of the release: created with `new` (old None), or `old` replaced by `new`."""

    file: str
    new: str
    old: str | None = None


class PartialFault(SiteFault):
    """A scenario of the family declares its edits and the path that breaks."""

    edits: ClassVar[tuple[Edit, ...]]

    def inject(self, lab: Lab, journal: FaultJournal) -> None:
        for edit in self.edits:
            path = lab.release_dir / edit.file
            if edit.old is None:
                journal.create_file(path, edit.new.encode("utf-8"))
            else:
                journal.replace_text(path, edit.old, edit.new)

    @classmethod
    def break_release(cls, release: Path) -> None:
        """Write the fault into `release` (a copy about to be deployed). A file is replaced
        by a new one, never written in place: it may be hard-linked into other releases."""
        for edit in cls.edits:
            path = release / edit.file
            if edit.old is None:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(edit.new, encoding="utf-8")
                continue
            text = path.read_text(encoding="utf-8")
            if text.count(edit.old) != 1:
                raise PremortemError(f"{path}: expected exactly one {edit.old!r} to change")
            mode = path.stat().st_mode & 0o7777
            path.unlink()
            path.write_text(text.replace(edit.old, edit.new), encoding="utf-8")
            os.chmod(path, mode)
