"""`premortem adopt --undo`: serve the old docroot again and restore premortem.toml.

The server's config files are written back from adopt's backup (byte for byte, owner and
mode), tested, and the server reloaded gracefully; once the site answers, premortem.toml is
restored too. A file edited since adopt is not overwritten (its edit would be lost): undo
stops and names it. The releases tree is left where it is for the operator to delete: its
shared/ holds uploads made since adopt, which the old docroot does not have.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from premortem.errors import PremortemError
from premortem.host import Host
from premortem.ops.adopt.journal import close_journal, read_journal
from premortem.ops.adopt.server import check_running_master, graceful_reload, test_config
from premortem.ops.deploy.events import Progress, StepRecorder
from premortem.ops.deploy.lock import DeployLock
from premortem.ops.remedy.apply import backup_entries, restore_backup, wait_healthy
from premortem.siteconfig import read_site_config

SETTLE_SECONDS = 15.0


@dataclass
class UndoResult:
    healthy: bool
    old_docroot: str
    site_root: str
    restored: list[str] = field(default_factory=list)
    refreshed: list[str] = field(default_factory=list)
    answers: dict[str, str] = field(default_factory=dict)


def _sha256(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def _refuse_edited_since(entries: list[dict[str, str]]) -> None:
    edited = [e["display"] for e in entries if _sha256(e["path"]) != e["sha256_after"]]
    if edited:
        raise PremortemError(
            f"{', '.join(edited)} changed since adopt: undo would lose that change. Put back "
            "the old docroot by hand (the backup is in the adopt journal's backup_dir)"
        )


def undo_adopt(config_path: Path, host: Host, progress: Progress | None = None) -> UndoResult:
    config = read_site_config(config_path)
    state_dir = config.path_of_state
    journal = read_journal(state_dir)
    if os.path.realpath(config_path) != journal.config_path:
        raise PremortemError(f"the adopt in {journal.path} was of {journal.config_path}")
    entries = backup_entries(journal.backup_dir)
    _refuse_edited_since(entries)
    check_running_master(config, host)
    old = replace(config, site_root=journal.old_docroot, docroot=journal.old_docroot)
    recorder = StepRecorder(state_dir, progress)
    result = UndoResult(False, journal.old_docroot, journal.site_root)
    try:
        with DeployLock(state_dir, "adopt --undo"), recorder.step("undo", "adopt.undo") as data:
            result.restored = restore_backup(journal.backup_dir, set(journal.server_files))
            test_config(old)
            result.refreshed.append(graceful_reload(old))
            healthy, probes, _seconds = wait_healthy(config.url, config.smoke_paths, SETTLE_SECONDS)
            result.answers = {p.path: str(p.status or p.error) for p in probes}
            result.healthy = healthy
            result.restored += restore_backup(journal.backup_dir, {journal.config_path})
            close_journal(journal)
            data.update(
                restored=result.restored,
                healthy=healthy,
                message=f"adopt undone: the server serves {journal.old_docroot} again; "
                f"{journal.site_root} left in place",
            )
    finally:
        recorder.close()
    return result


def leftover_note(result: UndoResult) -> str:
    """What undo left for the operator, in words."""
    uploads = Path(result.site_root) / "shared"
    return (
        f"{result.site_root} (the releases tree) is left in place: delete it when you no "
        f"longer need it (rm -rf {result.site_root}); uploads made since adopt are in "
        f"{uploads}, not in {result.old_docroot}"
    )
