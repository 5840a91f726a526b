"""`premortem adopt`: an in-place docroot becomes releases/shared/current without failing a request.

Order, so that every request is answered by a complete tree:
1. the layout is built beside the docroot (a copy: the docroot keeps serving), the release
   served by a stage server on a side port and compared with production;
2. the server's config files and premortem.toml are backed up, the config re-pointed at
   `current` (atomic writes, owner and mode kept) and tested: a failed test restores them
   before any reload;
3. a graceful reload (Apache: old children finish their requests, the parent keeps its
   sockets; nginx: SIGHUP, the same), then checks: a marker file only the release has is
   served (the server really reads the new tree), every smoke path answers as before (same
   status, size within a factor of 2), and a short watch sees no 5xx. Any failure puts the
   config back, tests it and reloads again (an automatic undo);
4. premortem.toml gets the new site_root and docroot.
A journal (`<state_dir>/adopt.json`) names the backup: `adopt --undo` restores from it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from premortem.errors import PremortemError
from premortem.host import Host
from premortem.ops.adopt.journal import close_journal, read_journal, write_journal
from premortem.ops.adopt.plan import AdoptPlan
from premortem.ops.adopt.server import check_running_master, graceful_reload, test_config
from premortem.ops.deploy.events import Progress, StepRecorder
from premortem.ops.deploy.keepcopy import copy_keeping_owners
from premortem.ops.deploy.lock import DeployLock
from premortem.ops.deploy.releases import PARTIAL_PREFIX, clear_bad, mark_bad
from premortem.ops.deploy.shared import link_shared
from premortem.ops.deploy.stage import PROBE_HEADERS, SmokeResult, run_stage, smoke_request
from premortem.ops.deploy.switch import switch_current
from premortem.ops.deploy.verify import access_log_offset, verify_production
from premortem.ops.remedy.apply import backup_files, restore_backup, write_as_before
from premortem.siteconfig import SiteConfig
from premortem.sitelog import site_log_of

MARKER_SETTLE_SECONDS = 15.0
SIZE_FACTOR = 2.0


@dataclass
class AdoptResult:
    outcome: str  # "adopted", "stopped" (before the server changed), "undone" (automatically)
    site_root: str
    release: str
    reason: str = ""
    backup_dir: str = ""
    refreshed: list[str] = field(default_factory=list)
    # Seconds from the reload until the server served a file only the release has.
    new_tree_seconds: float | None = None
    before: dict[str, str] = field(default_factory=dict)  # path -> "200, 51234 bytes"
    after: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.outcome == "adopted"

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["timings"] = {k: round(v, 3) for k, v in self.timings.items()}
        return data


def probe(config: SiteConfig) -> list[SmokeResult]:
    """Each smoke path of the site as users reach it."""
    with httpx.Client(timeout=15.0, follow_redirects=False, headers=PROBE_HEADERS) as client:
        return [smoke_request(client, config.url, path, None) for path in config.smoke_paths]


def answers(smoke: list[SmokeResult]) -> dict[str, str]:
    return {
        s.path: f"{s.answer()}, {s.size} bytes" if s.size is not None else s.answer() for s in smoke
    }


def differs(before: list[SmokeResult], after: list[SmokeResult]) -> str | None:
    """Why the site does not answer as before (None when it does): a path whose status
    changed, that fails, or whose body is over SIZE_FACTOR times bigger or smaller."""
    for old, new in zip(before, after, strict=True):
        if not new.ok or new.status != old.status:
            return f"{new.path} answered {new.answer()}, before {old.answer()}"
        small, big = sorted((old.size or 0, new.size or 0))
        if big > SIZE_FACTOR * max(small, 1) and big > 512:
            return f"{new.path} answered {new.size} bytes, before {old.size}"
    return None


def adopt(plan: AdoptPlan, host: Host, progress: Progress | None = None) -> AdoptResult:
    """Carry out `plan` (see the module docstring); PremortemError when premortem could not."""
    check_running_master(plan.config, host)
    state_dir = plan.config.path_of_state
    state_dir.mkdir(parents=True, exist_ok=True)
    recorder = StepRecorder(state_dir, progress)
    result = AdoptResult("adopted", str(plan.site_root), plan.release)
    try:
        with DeployLock(state_dir, f"adopt {plan.config_path}"):
            baseline = probe(plan.config)
            result.before = answers(baseline)
            if not all(s.ok for s in baseline):
                raise PremortemError(
                    f"the site does not answer well now ({'; '.join(result.before.values())}): "
                    "adopt compares it before and after, so fix it first (premortem diagnose)"
                )
            _build(plan, recorder)
            if not _staged(plan, recorder, baseline, result):
                shutil.rmtree(plan.site_root)
                return result
            _switch_server(plan, recorder, baseline, result)
            result.timings = dict(recorder.timings)
            return result
    finally:
        recorder.close()


def _build(plan: AdoptPlan, recorder: StepRecorder) -> None:
    layout = plan.layout
    with recorder.step("copy", "adopt.copy") as data:
        for directory in (layout.root, layout.releases_dir, layout.shared_dir):
            directory.mkdir(mode=0o755)
        partial = layout.releases_dir / f"{PARTIAL_PREFIX}{plan.release}"
        copy_keeping_owners(plan.old_docroot, partial, skip=frozenset(plan.shared))
        links = link_shared(partial, plan.old_docroot, layout.shared_dir, plan.shared)
        mark_bad(layout, plan.release, "not verified: adopt has not finished")
        os.replace(partial, layout.release_path(plan.release))
        switch_current(layout, layout.release_path(plan.release))
        data.update(
            release=plan.release,
            site_root=str(layout.root),
            shared=links.linked,
            message=f"{plan.old_docroot} copied to release {plan.release}",
        )


def _staged(
    plan: AdoptPlan, recorder: StepRecorder, baseline: list[SmokeResult], result: AdoptResult
) -> bool:
    """The release served on a side port answers as production does."""
    release = plan.layout.release_path(plan.release)
    sizes = {s.path: s.size for s in baseline if s.size is not None}
    with recorder.step("stage", "adopt.stage") as data:
        staged = run_stage(plan.config, release, plan.config.path_of_state, previous_sizes=sizes)
        problem = None if staged.ok else staged.summary()
        problem = problem or differs(baseline, staged.smoke)
        data.update(ok=problem is None, release=plan.release, message=f"stage: {staged.summary()}")
    if problem is not None:
        result.outcome, result.reason = "stopped", f"stage: {problem}"
        recorder.event("adopt.failed", f"adopt stopped by the stage: {problem}", live_changed=False)
    return problem is None


def _switch_server(
    plan: AdoptPlan, recorder: StepRecorder, baseline: list[SmokeResult], result: AdoptResult
) -> None:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    backup_dir = plan.config.path_of_state / "backups" / f"adopt-{stamp}"
    result.backup_dir = str(backup_dir)
    files = [*plan.server_edits, plan.config_edit]
    entries = backup_files(files, backup_dir, Path("/"), {"adopt": plan.to_dict()})
    write_journal(plan, backup_dir)
    offset = access_log_offset(plan.config.access_log)
    with recorder.step("switch", "adopt.switch") as data:
        for entry, edit in zip(entries, plan.server_edits, strict=False):
            write_as_before(edit.path, edit.after, entry)
        try:
            test_config(plan.new_config)
        except PremortemError:
            restore_backup(backup_dir, {str(edit.path) for edit in plan.server_edits})
            raise
        result.refreshed.append(graceful_reload(plan.new_config))
        data.update(files=[e.display for e in plan.server_edits], refreshed=result.refreshed)
    with recorder.step("verify", "adopt.verify") as data:
        problem = _verify(plan, baseline, offset, result)
        data.update(ok=problem is None, reason=problem, after=result.after)
    if problem is not None:
        _undo_now(plan, backup_dir, recorder, result, problem)
        return
    write_as_before(plan.config_edit.path, plan.config_edit.after, entries[-1])
    clear_bad(plan.layout, plan.release)
    recorder.event(
        "adopt.done",
        f"{plan.old_docroot} adopted as {plan.site_root} (release {plan.release})",
        release=plan.release,
        site_root=str(plan.site_root),
        backup=str(backup_dir),
    )


def _verify(
    plan: AdoptPlan, baseline: list[SmokeResult], offset: int, result: AdoptResult
) -> str | None:
    """Why the re-pointed site is not serving the release as before (None when it is)."""
    started = time.monotonic()
    problem = _marker_served(plan)
    if problem is None:
        result.new_tree_seconds = round(time.monotonic() - started, 3)
        after = probe(plan.new_config)
        result.after = answers(after)
        problem = differs(baseline, after)
    if problem is None:
        sizes = {s.path: s.size for s in baseline if s.size is not None}
        watched = verify_production(
            plan.config.url,
            list(plan.config.smoke_paths),
            plan.config.access_log,
            log_offset=offset,
            window=3.0,
            interval=0.5,
            max_error_rate=0.05,
            previous_sizes=sizes,
            site_log=site_log_of(plan.config),
        )
        problem = None if watched.ok else watched.reason
    return problem


def _marker_served(plan: AdoptPlan) -> str | None:
    """Serve a file only the release has, until the server answers it (the reload is done
    and reads the new tree); None when it did."""
    token = secrets.token_hex(16)
    name = f"premortem-adopt-{token[:12]}.txt"
    marker = plan.layout.release_path(plan.release) / name
    # A new file, never through a symlink: the release's directories belong to the site's user.
    fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token)
        os.fchmod(handle.fileno(), 0o644)
    url = plan.config.url.rstrip("/") + "/" + name
    deadline = time.monotonic() + MARKER_SETTLE_SECONDS
    last = ""
    try:
        with httpx.Client(timeout=5.0, headers=PROBE_HEADERS) as client:
            while time.monotonic() < deadline:
                try:
                    response = client.get(url)
                    if response.status_code == 200 and response.text.strip() == token:
                        return None
                    last = str(response.status_code)
                except httpx.HTTPError as exc:
                    last = type(exc).__name__
                time.sleep(0.2)
    finally:
        marker.unlink(missing_ok=True)
    return (
        f"the server did not serve the release's files within {MARKER_SETTLE_SECONDS:g} s ({last})"
    )


def _undo_now(
    plan: AdoptPlan, backup_dir: Path, recorder: StepRecorder, result: AdoptResult, problem: str
) -> None:
    restore_backup(backup_dir, {str(edit.path) for edit in plan.server_edits})
    test_config(plan.config)
    result.refreshed.append(graceful_reload(plan.config))
    mark_bad(plan.layout, plan.release, f"adopt: {problem}")
    close_journal(read_journal(plan.config.path_of_state))
    result.outcome, result.reason = "undone", problem
    recorder.event(
        "adopt.undone",
        f"adopt undone automatically: {problem}; the server serves {plan.old_docroot} again",
        automatic=True,
        release=plan.release,
    )
