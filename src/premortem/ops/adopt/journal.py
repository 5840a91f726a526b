"""The adopt journal: what `adopt --undo` needs, written before the server's config changes.

`<state_dir>/adopt.json` names the backup of the files adopt changed (their manifest has each
file's owner, mode and checksums), the old docroot and the new layout. Written atomically
before the first config file is touched, so an adopt killed half-way can still be undone.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from premortem.errors import PremortemError
from premortem.ops.adopt.plan import JOURNAL, AdoptPlan
from premortem.ops.deploy.safefs import write_file_nofollow


@dataclass(frozen=True)
class Journal:
    path: Path
    config_path: str
    site_root: str
    old_docroot: str
    release: str
    backup_dir: Path
    server_files: list[str]
    adopted_at: str


def write_journal(plan: AdoptPlan, backup_dir: Path) -> None:
    data: dict[str, Any] = {
        "config_path": str(plan.config_edit.path),
        "site_root": str(plan.site_root),
        "old_docroot": str(plan.old_docroot),
        "release": plan.release,
        "backup_dir": str(backup_dir),
        "server_files": [str(edit.path) for edit in plan.server_edits],
        "adopted_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    # In the state dir (root's alone, or the store refused it): a symlink is replaced.
    write_file_nofollow(plan.journal, json.dumps(data, indent=2).encode("utf-8"))


def read_journal(state_dir: Path) -> Journal:
    path = state_dir / JOURNAL
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PremortemError(
            f"no adopt to undo: {path} does not exist (adopt writes it; an undone adopt renames it)"
        ) from None
    except (OSError, ValueError) as exc:
        raise PremortemError(f"cannot read {path}: {exc}") from None
    return Journal(
        path=path,
        config_path=data["config_path"],
        site_root=data["site_root"],
        old_docroot=data["old_docroot"],
        release=data["release"],
        backup_dir=Path(data["backup_dir"]),
        server_files=list(data["server_files"]),
        adopted_at=data["adopted_at"],
    )


def close_journal(journal: Journal) -> Path:
    """Keep an undone adopt's journal under another name (the next adopt starts afresh)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    done = journal.path.with_name(f"adopt-undone-{stamp}.json")
    os.replace(journal.path, done)
    return done
