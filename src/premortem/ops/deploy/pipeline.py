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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from premortem.errors import PremortemError
from premortem.ops.deploy.apache_fpm import APACHE_CUT_WARNING, apache_fcgi_address
from premortem.ops.deploy.copy import check_source, check_web_user
from premortem.ops.deploy.events import Progress, StepRecorder, live_history
from premortem.ops.deploy.gate import GateResult
from premortem.ops.deploy.lock import DeployLock
from premortem.ops.deploy.nginx import read_nginx_site
from premortem.ops.deploy.phpfpm import CUT_WARNING, find_pool
from premortem.ops.deploy.releases import (
    SiteLayout,
    current_release_name,
    mark_bad,
    new_release_name,
    remove_partials,
    rollback_target,
)
from premortem.ops.deploy.replay import ReplayResult
from premortem.ops.deploy.safefs import refuse_untrusted_dir
from premortem.ops.deploy.shared import normalise_shared_path, refuse_symlinked_parents
from premortem.ops.deploy.sharedphp import refuse_shared_dir_constants
from premortem.ops.deploy.stage import StageResult, stop_leftover_stage
from premortem.ops.deploy.steps import (
    DeployPlan,
    DeployRun,
    production_sizes,
    recorded_sizes,
    steps_for,
    switch_and_reload,
    verify_site,
)
from premortem.ops.deploy.verify import (
    VerifyResult,
    access_log_offset,
)
from premortem.siteconfig import SiteConfig
from premortem.sitelog import site_log_of


@dataclass
class DeployOptions:
    check: bool = True
    stage: bool = True
    # Replay users' recent URLs on the stage (needs the stage; premortem.toml `replay`).
    replay: bool = True
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
    replay: ReplayResult | None = None
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
            "replay": self.replay.to_dict() if self.replay else None,
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


def refuse_untrusted_site(layout: SiteLayout, state_dir: Path) -> None:
    """As root, refuse a site (or state dir) another user could rearrange: the site root and
    the directories above it, releases/ and shared/ (safefs.py says why)."""
    for path, what in (
        (layout.root, "the site"),
        (layout.releases_dir, "the site's releases directory"),
        (layout.shared_dir, "the site's shared directory"),
        (state_dir, "the state dir"),
    ):
        refuse_untrusted_dir(path, what)


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
    elif fcgi := apache_fcgi_address(config):
        pool = find_pool(config, fcgi)
        if deploying and pool.refresh_cuts_requests:
            raise PremortemError(f"deploy refused: {APACHE_CUT_WARNING}")


def plan_deploy(config: SiteConfig, src: Path, options: DeployOptions | None = None) -> DeployPlan:
    """Check what a deploy of `src` needs and say what it will do; changes nothing."""
    options = options or DeployOptions()
    if options.keep < 2:
        raise PremortemError("--keep must be at least 2 (the current and the previous release)")
    _require_supported(config)
    src = Path(os.path.abspath(src))
    check_source(src)
    check_web_user(config.web_user)
    layout = site_layout(config)
    site_real = Path(os.path.realpath(layout.root))
    if src == site_real or site_real in Path(os.path.realpath(src)).parents:
        raise PremortemError(f"source {src} is inside the site {layout.root}; copy it elsewhere")
    refuse_untrusted_site(layout, config.path_of_state)
    _preflight(config, deploying=True)
    shared = [normalise_shared_path(p) for p in config.shared_paths]
    refuse_symlinked_parents(src, shared, "deploy refused: in the source")
    refuse_shared_dir_constants(layout.shared_dir, src, shared)
    return DeployPlan(
        config=config,
        src=src,
        options=options,
        layout=layout,
        shared=shared,
        previous=current_release_name(layout),
        name=new_release_name(layout),
        steps=steps_for(options),
    )


def deploy(
    config: SiteConfig,
    src: Path,
    options: DeployOptions | None = None,
    progress: Progress | None = None,
) -> DeployResult:
    """Deploy `src` as a new release of the site. Raises PremortemError when the tool cannot
    do its job; a release stopped by the gate, the stage or verification is a result."""
    plan = plan_deploy(config, src, options)
    state_dir = config.path_of_state
    say = progress or (lambda _m: None)
    recorder = StepRecorder(state_dir, progress)
    try:
        with DeployLock(state_dir, f"deploy {plan.src}") as lock:
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
            leftovers = remove_partials(plan.layout)
            if stop_leftover_stage(state_dir / "stage"):
                leftovers.append("stage server")
            if leftovers:
                say(f"cleaned up after an interrupted deploy: {', '.join(leftovers)}")
            # Decided under the lock: a deploy that waited for it sees the release before it.
            plan.previous = current_release_name(plan.layout)
            plan.name = new_release_name(plan.layout)
            return _run_plan(plan, recorder, say)
    finally:
        recorder.close()


def _run_plan(plan: DeployPlan, recorder: StepRecorder, say: Progress) -> DeployResult:
    result = DeployResult(release=plan.name, previous=plan.previous, outcome="deployed")
    run = DeployRun(
        plan,
        result,
        recorder,
        say,
        access_log_offset(plan.config.access_log),
        site_log_of(plan.config),
    )
    if plan.previous is not None:
        # Before anything changes: production still serves the previous release.
        run.previous_sizes = recorded_sizes(recorder.store, plan.previous) or production_sizes(
            plan.config
        )
    recorder.event(
        "deploy.start",
        f"deploy of {plan.src} as release {plan.name}",
        release=plan.name,
        previous=plan.previous,
        source=str(plan.src),
    )
    try:
        for step in plan.steps:
            if not step.run(run):
                break
        return result
    except BaseException as exc:
        # Tool errors and interruptions: record them; `current` is untouched or complete.
        what = str(exc) or type(exc).__name__
        recorder.event(
            "deploy.failed",
            f"deploy of {plan.name} aborted: {what}",
            release=plan.name,
            error=type(exc).__name__,
        )
        raise


def rollback(
    config: SiteConfig,
    to: str | None = None,
    options: DeployOptions | None = None,
    progress: Progress | None = None,
    *,
    reason: str = "rolled back by hand (premortem rollback)",
    by: str | None = None,
) -> RollbackResult:
    """Switch `current` back to `to`, else to the release that was live before the current
    one (the deploy history; never a bad one). The release left is marked bad: `reason`,
    `by` (default: the operator) and the time."""
    options = options or DeployOptions()
    _require_supported(config)
    layout = site_layout(config)
    refuse_untrusted_site(layout, config.path_of_state)
    _preflight(config, deploying=False)
    state_dir = config.path_of_state
    recorder = StepRecorder(state_dir, progress)
    try:
        with DeployLock(state_dir, f"rollback {to or ''}".strip()):
            remove_partials(layout)
            stop_leftover_stage(state_dir / "stage")
            target = rollback_target(layout, to, live_history(recorder.store))
            previous = current_release_name(layout)
            offset = access_log_offset(config.access_log)
            with recorder.step("switch", "rollback.switch") as data:
                seconds, refreshed = switch_and_reload(config, layout, target.path, rollback=True)
                data.update(
                    release=target.name,
                    previous=previous,
                    refreshed=refreshed,
                    message=f"current -> {target.name}; " + "; ".join(refreshed),
                )
            if previous is not None:
                # Users were taken away from it: no later rollback may put them back on it.
                mark_bad(layout, previous, f"rollback to {target.name}: {reason}", by)
            with recorder.step("verify", "rollback.verify") as data:
                previous_sizes = recorded_sizes(recorder.store, target.name)
                verified = verify_site(config, options, offset, previous_sizes)
                data.update(
                    ok=verified.ok,
                    reason=verified.reason,
                    release=target.name,
                    sizes=verified.sizes,
                )
            recorder.event(
                "rollback",
                f"rollback {previous} -> {target.name}"
                + ("" if verified.ok else f" (verification failed: {verified.reason})"),
                release=target.name,
                from_release=previous,
                automatic=False,
                ok=verified.ok,
                reason=reason,
            )
            return RollbackResult(target.name, previous, verified, seconds, refreshed)
    finally:
        recorder.close()
