"""Release directories: `<site>/releases/<UTC timestamp>/`, `<site>/shared/`, `<site>/current`.

A directory under `releases/` whose name does not start with a dot is a complete release: a
deploy builds into `releases/.partial-<name>` and renames it into place only once it is whole,
so an interrupted copy never looks like a release. A new release is marked bad ("not verified")
before it is renamed into place and cleared only once production verification passes, so a
release from a deploy that died on the way is never taken for a good one. A release that
failed its gate, its stage or its production verification is marked bad with a sidecar file
`releases/<name>.bad` (JSON: reason and time); `rollback` never chooses a bad release. The
marker lives beside the release, not inside it: the release is the web server's DocumentRoot.

A release that a rollback leaves (`premortem rollback`, deploy's automatic rollback, watch
--auto-rollback) is marked bad too, with who rolled back, when and why: users were taken
away from it, and no later rollback may put them back on it. `rollback` without `--to`
follows the deploy history (the order in which releases were live, from the site's event
store: `live_history()`), not the order the releases were created: after deploy A, deploy
B, rollback (to A), deploy C, the release before C is A, never B.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from premortem.errors import PremortemError
from premortem.ops.deploy.safefs import write_file_nofollow

# As the lab and Capistrano-style tools name them: sortable UTC time, e.g. 20261126T004404Z.
RELEASE_NAME_FORMAT = "%Y%m%dT%H%M%SZ"
PARTIAL_PREFIX = ".partial-"
BAD_SUFFIX = ".bad"


@dataclass(frozen=True)
class Release:
    name: str
    path: Path
    current: bool
    bad: bool
    bad_reason: str | None
    created: datetime
    # Who marked the release bad and when (ISO 8601 UTC), when the marker says.
    bad_by: str | None = None
    bad_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": str(self.path),
            "current": self.current,
            "bad": self.bad,
            "bad_reason": self.bad_reason,
            "bad_by": self.bad_by,
            "bad_at": self.bad_at,
            "created": self.created.isoformat(timespec="seconds"),
        }


@dataclass(frozen=True)
class SiteLayout:
    """Where a site's releases, shared files and `current` link live."""

    root: Path

    @property
    def releases_dir(self) -> Path:
        return self.root / "releases"

    @property
    def shared_dir(self) -> Path:
        return self.root / "shared"

    @property
    def current_link(self) -> Path:
        return self.root / "current"

    def release_path(self, name: str) -> Path:
        return self.releases_dir / name

    def bad_marker(self, name: str) -> Path:
        return self.releases_dir / f"{name}{BAD_SUFFIX}"


def created_time(name: str, path: Path) -> datetime:
    """The time in the release's name (UTC), else the directory's mtime."""
    try:
        return datetime.strptime(name[:16], RELEASE_NAME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def current_release_name(layout: SiteLayout) -> str | None:
    """The release `current` points at, or None when there is no usable `current` link."""
    link = layout.current_link
    if not link.is_symlink():
        return None
    target = Path(os.path.realpath(link))
    if target.parent != Path(os.path.realpath(layout.releases_dir)) or not target.is_dir():
        return None
    return target.name


def read_bad_marker(layout: SiteLayout, name: str) -> dict[str, str] | None:
    """The bad marker's reason, by and at (strings; by/at may be absent); None: not bad."""
    marker = layout.bad_marker(name)
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"reason": "marked bad (unreadable marker)"}
    if not isinstance(data, dict):
        return {"reason": "marked bad (unreadable marker)"}
    found = {k: str(data[k]) for k in ("by", "at") if isinstance(data.get(k), str)}
    return {"reason": str(data.get("reason") or "marked bad"), **found}


def read_bad_reason(layout: SiteLayout, name: str) -> str | None:
    marker = read_bad_marker(layout, name)
    return marker["reason"] if marker is not None else None


def list_releases(layout: SiteLayout) -> list[Release]:
    """Complete releases, oldest first."""
    if not layout.releases_dir.is_dir():
        raise PremortemError(
            f"{layout.releases_dir} does not exist: is {layout.root} a site with releases/?"
        )
    current = current_release_name(layout)
    found: list[Release] = []
    for entry in os.scandir(layout.releases_dir):
        if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
            continue
        path = Path(entry.path)
        marker = read_bad_marker(layout, entry.name) or {}
        found.append(
            Release(
                name=entry.name,
                path=path,
                current=entry.name == current,
                bad=bool(marker),
                bad_reason=marker.get("reason"),
                created=created_time(entry.name, path),
                bad_by=marker.get("by"),
                bad_at=marker.get("at"),
            )
        )
    found.sort(key=lambda r: (r.created, r.name))
    return found


def new_release_name(layout: SiteLayout, now: datetime | None = None) -> str:
    """A UTC-timestamp name that sorts after every existing release."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    base = moment.strftime(RELEASE_NAME_FORMAT)
    existing = (
        {p.name for p in layout.releases_dir.iterdir()} if layout.releases_dir.is_dir() else set()
    )
    names = {n.removeprefix(PARTIAL_PREFIX) for n in existing}
    released = [n for n in names if n[:1].isdigit()]
    if all(n < base for n in released):
        return base
    # Two deploys in one second (or a clock step back): keep names unique and ordered.
    latest = max([base, *released])
    suffix = 1
    while f"{latest}-{suffix}" in names:
        suffix += 1
    return f"{latest}-{suffix}"


def operator() -> str:
    """Who runs premortem, for the record: the sudo caller when run through sudo."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    sudo = os.environ.get("SUDO_USER")
    return f"{sudo} (as {user})" if sudo and sudo != user else user


def mark_bad(layout: SiteLayout, name: str, reason: str, by: str | None = None) -> None:
    """Mark `name` bad (atomically): why, when, and who (`by`, default the operator)."""
    marker = layout.bad_marker(name)
    record = {
        "reason": reason,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "by": by or operator(),
    }
    # releases/ is root's alone (pipeline.refuse_untrusted_site): a symlink is replaced.
    write_file_nofollow(marker, json.dumps(record).encode("utf-8"))


def clear_bad(layout: SiteLayout, name: str) -> None:
    layout.bad_marker(name).unlink(missing_ok=True)


def rollback_target(
    layout: SiteLayout, to: str | None = None, history: list[str] | None = None
) -> Release:
    """The release `rollback` switches to: `to` if given, else the release that was live
    before the current one by `history` (release names in the order they went live, oldest
    first), else (no history names one) the newest good one older than the current release.
    Bad releases are never chosen."""
    releases = list_releases(layout)
    by_name = {r.name: r for r in releases}
    current = next((r for r in releases if r.current), None)
    if to is not None:
        chosen = by_name.get(to)
        if chosen is None:
            known = ", ".join(r.name for r in releases) or "none"
            raise PremortemError(f"no release named {to!r} (releases: {known})")
        if chosen.bad:
            raise PremortemError(f"release {to} is marked bad ({chosen.bad_reason}); not using it")
        if chosen.current:
            raise PremortemError(f"release {to} is already current")
        return chosen
    if current is None:
        raise PremortemError(f"{layout.current_link} does not point at a release; use --to NAME")
    for name in reversed(history or []):
        live = by_name.get(name)
        if live is not None and not live.current and not live.bad:
            return live
    # Releases the history knows were all considered: the rest by creation order (a site
    # premortem did not deploy before, e.g. the release the lab or an operator put live).
    seen = set(history or [])
    older = [
        r
        for r in releases
        if (r.created, r.name) < (current.created, current.name) and r.name not in seen
    ]
    good = [r for r in older if not r.bad]
    if not good:
        raise PremortemError(
            f"no good release older than {current.name} to roll back to"
            + (f" ({len(older)} older ones are marked bad)" if older else "")
        )
    return good[-1]


def cleanup_releases(layout: SiteLayout, keep: int, protect: set[str]) -> list[str]:
    """Remove the oldest releases beyond `keep` (never those in `protect`, never `current`),
    and leftovers of interrupted deploys. Returns the names removed."""
    if keep < 1:
        raise PremortemError("--keep must be at least 1")
    releases = list_releases(layout)
    protected = set(protect) | {r.name for r in releases if r.current}
    removable = [r for r in releases if r.name not in protected]
    excess = len(releases) - keep
    removed: list[str] = []
    for release in removable:
        if excess <= 0:
            break
        shutil.rmtree(release.path)
        layout.bad_marker(release.name).unlink(missing_ok=True)
        removed.append(release.name)
        excess -= 1
    return removed


def remove_partials(layout: SiteLayout) -> list[str]:
    """Delete half-built releases and temporary links left by an interrupted deploy.
    Call only while holding the deploy lock."""
    removed: list[str] = []
    if layout.releases_dir.is_dir():
        for entry in os.scandir(layout.releases_dir):
            if not entry.name.startswith(PARTIAL_PREFIX):
                continue
            if entry.is_symlink():
                os.unlink(entry.path)  # not a release premortem built: never followed
            else:
                shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.name)
    for entry in os.scandir(layout.root):
        if entry.name.startswith(".current.") and entry.is_symlink():
            os.unlink(entry.path)
            removed.append(entry.name)
    return removed
