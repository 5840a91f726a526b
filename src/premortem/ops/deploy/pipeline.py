"""`deploy` and `rollback`: lock, copy, gate, stage, switch, verify, clean up.

Every step is timed and recorded as an event (`deploy.start`, `deploy.copy`, `deploy.gate`,
`deploy.stage`, `deploy.switch`, `deploy.verify`, `deploy.done`, `deploy.failed`,
`rollback`). Safety argument for interruptions, SIGKILL included:
- the new release is built under `releases/.partial-<name>` and renamed into place whole;
- `current` changes only by rename(2) of a complete symlink, so it always names a complete
  release (the old one until the switch, the new one after);
- the lock is a flock that dies with its holder; the next deploy removes partial releases,
  stray temporary links and a stage server left running, then proceeds.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from premortem.errors import PremortemError
from premortem.ops.deploy.copy import check_source, check_web_user, copy_release
from premortem.ops.deploy.events import Progress, StepRecorder
from premortem.ops.deploy.gate import GateResult, run_gate
from premortem.ops.deploy.lock import DeployLock
from premortem.ops.deploy.nginx import read_nginx_site
from premortem.ops.deploy.phpfpm import CUT_WARNING, find_pool
from premortem.ops.deploy.releases import (
    PARTIAL_PREFIX,
    SiteLayout,
    cleanup_releases,
    clear_bad,
    current_release_name,
    mark_bad,
    new_release_name,
    remove_partials,
    rollback_target,
)
from premortem.ops.deploy.shared import link_shared, normalise_shared_path
from premortem.ops.deploy.stage import StageResult, run_stage, stop_leftover_stage
from premortem.ops.deploy.switch import reload_server, switch_current
from premortem.ops.deploy.verify import (
    VerifyResult,
    access_log_offset,
    count_statuses,
    verify_production,
)
from premortem.siteconfig import SiteConfig

LOG_SETTLE_SECONDS = 1.0
UNVERIFIED = "not verified: its deploy was interrupted (or is still running)"


@dataclass
class DeployOptions:
    check: bool = True
    stage: bool = True
    keep: int = 5
    verify: bool = True
    verify_window: float = 10.0
    verify_interval: float = 0.5
    max_error_rate: float = 0.05


@dataclass
class DeployResult:
    release: str
    previous: str | None
    outcome: str  # "deployed", "stopped" (gate/stage: nothing live changed), "rolled-back"
    stopped_at: str | None = None
    reason: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    gate: GateResult | None = None
    stage: StageResult | None = None
    verify: VerifyResult | None = None
    switch_seconds: float = 0.0
    # What made the server see the new code (graceful restart, php-fpm workers replaced...).
    refreshed: list[str] = field(default_factory=list)
    rollback_seconds: float | None = None
    removed: list[str] = field(default_factory=list)
    linked_files: int = 0
    copied_files: int = 0
    # From the access log, premortem's own probes left out: what users were served.
    user_requests: int = 0
    user_errors: int = 0
    user_errors_after_switch: int | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "deployed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "release": self.release,
            "previous": self.previous,
            "outcome": self.outcome,
            "stopped_at": self.stopped_at,
            "reason": self.reason,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "switch_seconds": round(self.switch_seconds, 3),
            "refreshed": self.refreshed,
            "rollback_seconds": (
                round(self.rollback_seconds, 3) if self.rollback_seconds is not None else None
            ),
            "linked_files": self.linked_files,
            "user_requests": self.user_requests,
            "user_errors": self.user_errors,
            "user_errors_after_switch": self.user_errors_after_switch,
            "copied_files": self.copied_files,
            "removed": self.removed,
            "gate": self.gate.to_dict() if self.gate else None,
            "verify": (
                {
                    "ok": self.verify.ok,
                    "seconds": round(self.verify.seconds, 3),
                    "probes": self.verify.probes,
                    "failed_probes": self.verify.failed_probes,
                    "log_requests": self.verify.log_requests,
                    "log_errors": self.verify.log_errors,
                    "reason": self.verify.reason,
                }
                if self.verify
                else None
            ),
        }


@dataclass
class RollbackResult:
    release: str
    previous: str | None
    verify: VerifyResult
    switch_seconds: float
    refreshed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.verify.ok


def site_layout(config: SiteConfig) -> SiteLayout:
    root = Path(config.site_root)
    if not (root / "releases").is_dir():
        raise PremortemError(
            f"{root} has no releases/ directory: premortem manages sites laid out as "
            "releases/<name>/, shared/, current -> releases/<name>"
        )
    docroot = Path(config.docroot)
    if os.path.abspath(docroot) != os.path.abspath(root / "current"):
        raise PremortemError(
            f"docroot {docroot} is not {root / 'current'}: deploy switches the `current` link, "
            "so the server's DocumentRoot must be that link"
        )
    current = root / "current"
    if os.path.lexists(current) and not current.is_symlink():
        raise PremortemError(
            f"{current} is a real directory, not a symlink to a release: move it into "
            f"{root / 'releases'}/<name>/ and link current to it first"
        )
    return SiteLayout(root)


SUPPORTED_SERVERS = ("apache", "nginx")


def _require_supported(config: SiteConfig) -> None:
    if config.server not in SUPPORTED_SERVERS:
        raise PremortemError(
            f'deploy and rollback support server = "apache" (mod_php) and "nginx" (php-fpm); '
            f"{config.server!r} is not supported"
        )


def _preflight(config: SiteConfig, *, deploying: bool) -> None:
    """What the switch will need, checked before anything changes."""
    if config.server == "nginx":
        site = read_nginx_site(config)
        pool = find_pool(config, site.fastcgi_address)
        if deploying and not site.resolves_current_link and pool.refresh_cuts_requests:
            raise PremortemError(f"deploy refused: {CUT_WARNING}")


def _switch_and_reload(
    config: SiteConfig, layout: SiteLayout, release: Path, *, rollback: bool = False
) -> tuple[float, list[str]]:
    started = time.monotonic()
    switch_current(layout, release)
    done = reload_server(config, may_cut=rollback)
    return time.monotonic() - started, done


def _verify(config: SiteConfig, options: DeployOptions, offset: int) -> VerifyResult:
    return verify_production(
        config.url,
        list(config.smoke_paths),
        config.access_log,
        log_offset=offset,
        window=options.verify_window,
        interval=options.verify_interval,
        max_error_rate=options.max_error_rate,
    )


def deploy(
    config: SiteConfig,
    src: Path,
    options: DeployOptions | None = None,
    progress: Progress | None = None,
) -> DeployResult:
    """Deploy `src` as a new release of the site. Raises PremortemError when the tool cannot
    do its job; a release stopped by the gate, the stage or verification is a result."""
    options = options or DeployOptions()
    if options.keep < 2:
        raise PremortemError("--keep must be at least 2 (the current and the previous release)")
    _require_supported(config)
    src = Path(os.path.abspath(src))
    check_source(src)
    check_web_user(config.web_user)
    layout = site_layout(config)
    shared = [normalise_shared_path(p) for p in config.shared_paths]
    if src == Path(os.path.realpath(layout.root)) or Path(os.path.realpath(layout.root)) in (
        Path(os.path.realpath(src)).parents
    ):
        raise PremortemError(f"source {src} is inside the site {layout.root}; copy it elsewhere")
    _preflight(config, deploying=True)
    state_dir = config.path_of_state
    say = progress or (lambda _m: None)
    recorder = StepRecorder(state_dir, progress)
    try:
        with DeployLock(state_dir, f"deploy {src}") as lock:
            if lock.stale is not None:
                say(
                    f"took over a stale deploy lock (pid {lock.stale.pid} died during "
                    f"{lock.stale.command!r})"
                )
                recorder.event(
                    "deploy.stale-lock",
                    f"stale deploy lock of pid {lock.stale.pid} taken over",
                    pid=lock.stale.pid,
                    command=lock.stale.command,
                )
            leftovers = remove_partials(layout)
            if stop_leftover_stage(state_dir / "stage"):
                leftovers.append("stage server")
            if leftovers:
                say(f"cleaned up after an interrupted deploy: {', '.join(leftovers)}")
            return _deploy_locked(config, src, options, layout, shared, recorder, say)
    finally:
        recorder.close()


def _deploy_locked(
    config: SiteConfig,
    src: Path,
    options: DeployOptions,
    layout: SiteLayout,
    shared: list[str],
    recorder: StepRecorder,
    say: Progress,
) -> DeployResult:
    previous = current_release_name(layout)
    name = new_release_name(layout)
    release = layout.release_path(name)
    result = DeployResult(release=name, previous=previous, outcome="deployed")
    start_offset = access_log_offset(config.access_log)
    recorder.event(
        "deploy.start",
        f"deploy of {src} as release {name}",
        release=name,
        previous=previous,
        source=str(src),
    )
    try:
        with recorder.step("copy", "deploy.copy") as data:
            partial = layout.releases_dir / f"{PARTIAL_PREFIX}{name}"
            link_from = layout.release_path(previous) if previous else None
            stats = copy_release(src, partial, link_from=link_from, skip=set(shared))
            links = link_shared(partial, src, layout.shared_dir, shared)
            # Bad until verified: a deploy killed from here on leaves a release that
            # rollback must not choose.
            mark_bad(layout, name, UNVERIFIED)
            os.replace(partial, release)
            result.linked_files, result.copied_files = stats.linked, stats.copied
            data.update(
                release=name,
                files=stats.files,
                linked=stats.linked,
                copied=stats.copied,
                shared=links.linked,
                seeded=links.seeded,
                missing_shared=links.missing,
                message=f"release {name}: {stats.files} files ({stats.linked} hard-linked)",
            )
            if links.missing:
                say(
                    "warning: shared paths missing from shared/ and SRC: "
                    + ", ".join(links.missing)
                )

        if options.check:
            with recorder.step("gate", "deploy.gate") as data:
                baseline = layout.release_path(previous) if previous else None
                gate = run_gate(
                    release, baseline, web_user=config.web_user, server_config=config.server_config
                )
                result.gate = gate
                data.update(gate.to_dict(), release=name, message=gate.summary())
            if not gate.ok:
                _count_traffic(result, config.access_log, start_offset)
                return _stop(result, layout, recorder, "gate", gate.summary())

        if options.stage:
            with recorder.step("stage", "deploy.stage") as data:
                staged = run_stage(config, release, config.path_of_state)
                result.stage = staged
                data.update(
                    release=name,
                    ok=staged.ok,
                    port=staged.port,
                    message=f"stage: {staged.summary()}",
                    smoke=[
                        {"path": s.path, "status": s.status, "error": s.error} for s in staged.smoke
                    ],
                    fatals=len(staged.fatals),
                )
            if not staged.ok:
                _count_traffic(result, config.access_log, start_offset)
                return _stop(result, layout, recorder, "stage", staged.summary())

        offset = access_log_offset(config.access_log)
        with recorder.step("switch", "deploy.switch") as data:
            switched_at = time.monotonic()
            result.switch_seconds, refreshed = _switch_and_reload(config, layout, release)
            result.refreshed = refreshed
            data.update(
                release=name,
                previous=previous,
                refreshed=refreshed,
                message=f"current -> {name}; " + "; ".join(refreshed),
            )

        if options.verify:
            with recorder.step("verify", "deploy.verify") as data:
                verified = _verify(config, options, offset)
                result.verify = verified
                data.update(
                    release=name,
                    ok=verified.ok,
                    probes=verified.probes,
                    failed_probes=verified.failed_probes,
                    log_requests=verified.log_requests,
                    log_errors=verified.log_errors,
                    reason=verified.reason,
                    message=(
                        "verified" if verified.ok else f"verification failed: {verified.reason}"
                    ),
                )
            if not verified.ok:
                if previous is None:
                    mark_bad(layout, name, f"verify: {verified.reason}")
                    result.outcome, result.stopped_at = "failed", "verify"
                    result.reason = f"{verified.reason}; no previous release to roll back to"
                    recorder.event("deploy.failed", result.reason, release=name, step="verify")
                    return result
                say(f"verification failed ({verified.reason}); rolling back to {previous}")
                _switch_and_reload(config, layout, layout.release_path(previous), rollback=True)
                result.rollback_seconds = time.monotonic() - switched_at
                # Requests the bad release was still answering finish and get logged.
                time.sleep(LOG_SETTLE_SECONDS)
                _count_traffic(result, config.access_log, start_offset)
                if config.access_log:
                    result.user_errors_after_switch = count_statuses(config.access_log, offset)[1]
                mark_bad(layout, name, f"verify: {verified.reason}")
                result.outcome, result.stopped_at, result.reason = (
                    "rolled-back",
                    "verify",
                    verified.reason,
                )
                recorder.event(
                    "rollback",
                    f"automatic rollback {name} -> {previous}: {verified.reason}",
                    release=previous,
                    from_release=name,
                    automatic=True,
                    seconds_from_switch=round(result.rollback_seconds, 3),
                    user_errors_after_switch=result.user_errors_after_switch,
                )
                recorder.event(
                    "deploy.failed", f"release {name} rolled back", release=name, step="verify"
                )
                result.timings = dict(recorder.timings)
                return result
        else:
            # The operator chose to skip it (the seed's team had no verification).
            recorder.event(
                "deploy.verify", "verification skipped (--no-verify)", release=name, skipped=True
            )

        clear_bad(layout, name)
        with recorder.step("cleanup", "deploy.cleanup") as data:
            protect = {name} | ({previous} if previous else set())
            result.removed = cleanup_releases(layout, options.keep, protect)
            data.update(removed=result.removed, keep=options.keep)
        result.timings = dict(recorder.timings)
        _count_traffic(result, config.access_log, start_offset)
        recorder.event(
            "deploy.done",
            f"release {name} is live",
            release=name,
            previous=previous,
            user_requests=result.user_requests,
            user_errors=result.user_errors,
            timings={k: round(v, 3) for k, v in result.timings.items()},
        )
        return result
    except BaseException as exc:
        # Tool errors and interruptions: record them; `current` is untouched or complete.
        what = str(exc) or type(exc).__name__
        recorder.event(
            "deploy.failed",
            f"deploy of {name} aborted: {what}",
            release=name,
            error=type(exc).__name__,
        )
        raise


def _count_traffic(result: DeployResult, access_log: str, offset: int) -> None:
    if access_log:
        result.user_requests, result.user_errors, _ = count_statuses(access_log, offset)


def _stop(
    result: DeployResult, layout: SiteLayout, recorder: StepRecorder, step: str, reason: str
) -> DeployResult:
    mark_bad(layout, result.release, f"{step}: {reason}")
    result.outcome, result.stopped_at, result.reason = "stopped", step, reason
    result.timings = dict(recorder.timings)
    recorder.event(
        "deploy.failed",
        f"release {result.release} stopped by the {step}: {reason}",
        release=result.release,
        step=step,
        live_changed=False,
    )
    return result


def rollback(
    config: SiteConfig,
    to: str | None = None,
    options: DeployOptions | None = None,
    progress: Progress | None = None,
) -> RollbackResult:
    """Switch `current` back to `to` or the newest good release older than the current one."""
    options = options or DeployOptions()
    _require_supported(config)
    layout = site_layout(config)
    _preflight(config, deploying=False)
    state_dir = config.path_of_state
    recorder = StepRecorder(state_dir, progress)
    try:
        with DeployLock(state_dir, f"rollback {to or ''}".strip()):
            remove_partials(layout)
            stop_leftover_stage(state_dir / "stage")
            target = rollback_target(layout, to)
            previous = current_release_name(layout)
            offset = access_log_offset(config.access_log)
            with recorder.step("switch", "rollback.switch") as data:
                seconds, refreshed = _switch_and_reload(config, layout, target.path, rollback=True)
                data.update(
                    release=target.name,
                    previous=previous,
                    refreshed=refreshed,
                    message=f"current -> {target.name}; " + "; ".join(refreshed),
                )
            with recorder.step("verify", "rollback.verify") as data:
                verified = _verify(config, options, offset)
                data.update(ok=verified.ok, reason=verified.reason, release=target.name)
            recorder.event(
                "rollback",
                f"rollback {previous} -> {target.name}"
                + ("" if verified.ok else f" (verification failed: {verified.reason})"),
                release=target.name,
                from_release=previous,
                automatic=False,
                ok=verified.ok,
            )
            return RollbackResult(target.name, previous, verified, seconds, refreshed)
    finally:
        recorder.close()
