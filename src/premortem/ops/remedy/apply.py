"""Apply a fix plan: backup, atomic writes that keep owner and mode, re-probe, restore.

Backups go to `<state_dir>/backups/fix-<UTC time>/` (0700: wp-config.php holds secrets) with
a manifest.json naming each file, its owner, mode and checksums before and after. Each file is
written to a temporary file in its own directory, given the original's owner and mode,
fsynced and renamed over the original: a request never reads half a file, and a file
hard-linked from an older release (see deploy) is replaced in this release only. After the
writes the site is re-probed for up to `settle` seconds (opcache re-reads changed files only
every `opcache.revalidate_freq` seconds, 2 by default); if any smoke path still answers
>= 500 the backups are written back the same way and the outcome says so. On nginx sites
whose php-fpm pool runs opcache, the pool is reloaded after the writes (and after a restore)
when that reload is graceful (process_control_timeout > 0): see `ops/deploy/phpfpm.py`.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from premortem.collectors.target import Target, site_client
from premortem.errors import PremortemError
from premortem.ops.deploy.lock import DeployLock
from premortem.ops.deploy.phpfpm import FpmPool, pool_to_reload_after_edits, refresh_workers
from premortem.ops.deploy.safefs import atomic_write
from premortem.ops.deploy.stage import PROBE_HEADERS
from premortem.ops.remedy.plan import FilePlan, FixPlan
from premortem.siteconfig import SiteConfig
from premortem.store import open_store


@dataclass
class Probe:
    path: str
    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and self.status < 500


@dataclass
class FixOutcome:
    applied: bool
    healthy: bool
    restored: bool
    backup_dir: Path | None
    files: list[str] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)
    seconds_to_healthy: float | None = None
    # What made the server run the new code (nginx: a php-fpm reload when opcache is on).
    refreshed: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "applied": self.applied,
            "healthy": self.healthy,
            "restored": self.restored,
            "backup_dir": str(self.backup_dir) if self.backup_dir else None,
            "files": self.files,
            "probes": [{"path": p.path, "status": p.status, "error": p.error} for p in self.probes],
            "seconds_to_healthy": self.seconds_to_healthy,
            "refreshed": self.refreshed,
        }


def probe_site(url: str, paths: list[str], timeout: float = 10.0, ca_file: str = "") -> list[Probe]:
    results: list[Probe] = []
    target = Target(ca_file=ca_file)
    with site_client(target, timeout=timeout, headers=PROBE_HEADERS) as client:
        for path in paths or ["/"]:
            try:
                response = client.get(url.rstrip("/") + "/" + path.lstrip("/"))
                results.append(Probe(path, response.status_code))
            except httpx.HTTPError as exc:
                results.append(Probe(path, None, type(exc).__name__))
    return results


def wait_healthy(
    url: str, paths: list[str], settle: float, ca_file: str = ""
) -> tuple[bool, list[Probe], float]:
    started = time.monotonic()
    while True:
        probes = probe_site(url, paths, ca_file=ca_file)
        elapsed = time.monotonic() - started
        if all(p.ok for p in probes):
            return True, probes, elapsed
        if elapsed >= settle:
            return False, probes, elapsed
        time.sleep(0.25)


def _backup(plan: FixPlan, backup_dir: Path, site_root: Path) -> list[dict[str, Any]]:
    finding = {"rule": plan.finding.rule, "file": plan.finding.file, "line": plan.finding.line}
    changed = [file_plan for file_plan in plan.files if file_plan.changed]
    return backup_files(changed, backup_dir, site_root, {"finding": finding})


def backup_files(
    files: list[FilePlan], backup_dir: Path, root: Path, about: dict[str, Any]
) -> list[dict[str, Any]]:
    """Copy each file about to be written into `backup_dir/files/` (by its path relative to
    `root`, else its absolute path) with a manifest.json naming its owner, mode and checksums
    before and after (`about` added to the manifest); `restore_backup` writes them back."""
    backup_dir.mkdir(parents=True, mode=0o700)
    os.chmod(backup_dir, 0o700)
    entries: list[dict[str, Any]] = []
    for number, file_plan in enumerate(files):
        st = file_plan.path.stat()
        inside = file_plan.path.is_relative_to(root)
        rel = os.path.relpath(file_plan.path, root) if inside else str(file_plan.path)[1:]
        copy = backup_dir / "files" / rel
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file_plan.path, copy)
        if copy.read_bytes() != file_plan.before:
            raise PremortemError(f"{file_plan.display} changed while planning; try again")
        entries.append(
            {
                "n": number,
                "path": str(file_plan.path),
                "display": file_plan.display,
                "backup": str(copy),
                "mode": st.st_mode & 0o7777,
                "uid": st.st_uid,
                "gid": st.st_gid,
                "sha256_before": file_plan.sha256_before,
                "sha256_after": file_plan.sha256_after,
            }
        )
    manifest = {"created": datetime.now(UTC).isoformat(timespec="seconds"), **about}
    manifest["files"] = entries
    (backup_dir / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return entries


def backup_entries(backup_dir: Path) -> list[dict[str, Any]]:
    """The files of a backup made by `backup_files`, as its manifest lists them."""
    try:
        manifest = json.loads((backup_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PremortemError(f"{backup_dir} is not a premortem backup: {exc}") from None
    entries: list[dict[str, Any]] = manifest["files"]
    return entries


def restore_backup(backup_dir: Path, paths: set[str] | None = None) -> list[str]:
    """Write every file of a backup (those in `paths` when given) back over its original
    (atomically, owner and mode)."""
    restored: list[str] = []
    for entry in backup_entries(backup_dir):
        if paths is not None and entry["path"] not in paths:
            continue
        write_as_before(Path(entry["path"]), Path(entry["backup"]).read_bytes(), entry)
        restored.append(entry["display"])
    return restored


def apply_plan(
    plan: FixPlan, config: SiteConfig, *, url: str | None = None, settle: float = 8.0
) -> FixOutcome:
    """Apply `plan` under the site's deploy lock; restore the backup when the site is not
    healthy afterwards. Records `fix.applied` / `fix.restored` events."""
    target_url = url or config.url
    paths = list(config.smoke_paths) or ["/"]
    if not plan.changed:
        healthy, probes, _ = wait_healthy(target_url, paths, 0, config.ca_file)
        return FixOutcome(False, healthy, False, None, [], probes)
    state_dir = config.path_of_state
    site_root = Path(os.path.realpath(config.site_root))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    backup_dir = state_dir / "backups" / f"fix-{stamp}"
    # Found before anything is written: a pool that cannot be found is a clear error now.
    pool = pool_to_reload_after_edits(config)
    with DeployLock(state_dir, "fix"), open_store(state_dir) as store:
        entries = _backup(plan, backup_dir, site_root)
        changed = [file_plan for file_plan in plan.files if file_plan.changed]
        for entry, file_plan in zip(entries, changed, strict=True):
            write_as_before(file_plan.path, file_plan.after, entry)
        written = [file_plan.display for file_plan in changed]
        refreshed = _refresh_workers(pool)
        healthy, probes, seconds = wait_healthy(target_url, paths, settle, config.ca_file)
        time_to_healthy = round(seconds, 3) if healthy else None
        outcome = FixOutcome(
            True, healthy, False, backup_dir, written, probes, time_to_healthy, refreshed
        )
        data = {
            "rule": plan.finding.rule,
            "files": written,
            "backup": str(backup_dir),
            "probes": [{"path": p.path, "status": p.status} for p in probes],
        }
        store.add_event("fix.applied", f"fix applied to {', '.join(written)}", data=data)
        if not healthy:
            restore_backup(backup_dir)
            outcome.refreshed += _refresh_workers(pool)
            outcome.restored = True
            store.add_event(
                "fix.restored",
                f"site still unhealthy after the fix; restored {', '.join(written)} from backup",
                data=data,
            )
    return outcome


def write_as_before(path: Path, data: bytes, entry: dict[str, Any]) -> None:
    """Write `data` over `path` with the owner and mode its backup `entry` recorded."""
    atomic_write(path, data, mode=entry["mode"], uid=entry["uid"], gid=entry["gid"])


def _refresh_workers(pool: FpmPool | None) -> list[str]:
    """Make php-fpm run the files as now written (nothing to do without a pool to reload)."""
    return [f"php-fpm {refresh_workers(pool)}"] if pool is not None else []
