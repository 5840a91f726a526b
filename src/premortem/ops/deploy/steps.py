"""A deploy as a list of steps, each able to say what it will do before it does it.

`plan_deploy()` builds the steps a deploy of a release will run (copy, gate, stage, switch,
verify, cleanup; the flags leave some out); `premortem deploy --dry-run` prints their
`describe()` and changes nothing. `run()` does the step on a `DeployRun` (the state the steps
share) and returns False when the deploy stops there (its result then says why).
"""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from premortem.accesslog import SiteLog
from premortem.collectors.target import Target, site_client
from premortem.ops.deploy.apache_fpm import apache_fcgi_address
from premortem.ops.deploy.copy import copy_release
from premortem.ops.deploy.events import Progress, StepRecorder
from premortem.ops.deploy.gate import run_gate
from premortem.ops.deploy.releases import (
    PARTIAL_PREFIX,
    SiteLayout,
    cleanup_releases,
    clear_bad,
    mark_bad,
    operator,
)
from premortem.ops.deploy.replay import (
    ReplayResult,
    replay_outcome,
    replay_urls,
    settings_of,
    stage_replay,
    urls_to_replay,
)
from premortem.ops.deploy.shared import link_shared
from premortem.ops.deploy.stage import (
    PROBE_HEADERS,
    good_page_sizes,
    run_stage,
    smoke_request,
)
from premortem.ops.deploy.switch import reload_server, switch_current
from premortem.ops.deploy.verify import (
    VerifyResult,
    access_log_offset,
    count_statuses,
    verify_production,
)
from premortem.redact import redact
from premortem.siteconfig import SiteConfig
from premortem.sitelog import site_log_of
from premortem.store import Store

if TYPE_CHECKING:
    from premortem.ops.deploy.pipeline import DeployOptions, DeployResult

LOG_SETTLE_SECONDS = 1.0
UNVERIFIED = "not verified: its deploy was interrupted (or is still running)"


@dataclass
class DeployPlan:
    """What a deploy will do: the release it makes and its steps, in order."""

    config: SiteConfig
    src: Path
    options: DeployOptions
    layout: SiteLayout
    shared: list[str]
    previous: str | None
    name: str
    steps: list[DeployStep] = field(default_factory=list)

    @property
    def release(self) -> Path:
        return self.layout.release_path(self.name)

    def describe(self) -> list[dict[str, str]]:
        return [{"step": step.name, "does": step.describe(self)} for step in self.steps]


@dataclass
class DeployRun:
    """A deploy in progress: its plan, its result so far, and where it records events."""

    plan: DeployPlan
    result: DeployResult
    recorder: StepRecorder
    say: Progress
    start_offset: int
    # The access log's format and, for a shared log, which lines are the site's.
    site_log: SiteLog = field(default_factory=SiteLog)
    offset: int = 0  # the access log's size at the switch (verification reads from there)
    switched_at: float = 0.0
    # Body bytes per smoke path of the previous release: a page far smaller lost its body.
    previous_sizes: dict[str, int] = field(default_factory=dict)
    # The replay the stage step ran on its server, or why it had nothing to replay.
    replayed: ReplayResult | None = None
    replay_note: str = ""

    def count_traffic(self) -> None:
        log = self.plan.config.access_log
        if log:
            counted = count_statuses(log, self.start_offset, self.site_log)
            self.result.user_requests, self.result.user_errors = counted[0], counted[1]

    def stop(self, step: str, reason: str) -> bool:
        """The release goes no further; nothing live changed. Always False (for `run`)."""
        self.count_traffic()
        result = self.result
        mark_bad(self.plan.layout, result.release, f"{step}: {reason}")
        result.outcome, result.stopped_at, result.reason = "stopped", step, reason
        result.timings = dict(self.recorder.timings)
        self.recorder.event(
            "deploy.failed",
            f"release {result.release} stopped by the {step}: {reason}",
            release=result.release,
            step=step,
            live_changed=False,
        )
        return False


class DeployStep(ABC):
    name: ClassVar[str]

    @abstractmethod
    def describe(self, plan: DeployPlan) -> str: ...

    @abstractmethod
    def run(self, run: DeployRun) -> bool: ...


def _rel(plan: DeployPlan, path: Path) -> str:
    return os.path.relpath(path, plan.layout.root)


class CopyRelease(DeployStep):
    name = "copy"

    def describe(self, plan: DeployPlan) -> str:
        linked = f", hard-linking files unchanged since {plan.previous}" if plan.previous else ""
        shared = ", ".join(plan.shared) or "nothing"
        return (
            f"copy {plan.src} to {plan.layout.releases_dir}/{plan.name} "
            f"(built as {PARTIAL_PREFIX}{plan.name}, renamed whole{linked}); link {shared} "
            f"from {plan.layout.shared_dir}; mark the release unverified until verified"
        )

    def run(self, run: DeployRun) -> bool:
        plan, result = run.plan, run.result
        with run.recorder.step("copy", "deploy.copy") as data:
            partial = plan.layout.releases_dir / f"{PARTIAL_PREFIX}{plan.name}"
            link_from = plan.layout.release_path(plan.previous) if plan.previous else None
            stats = copy_release(plan.src, partial, link_from=link_from, skip=set(plan.shared))
            links = link_shared(partial, plan.src, plan.layout.shared_dir, plan.shared)
            # Bad until verified: a deploy killed from here on leaves a release that
            # rollback must not choose.
            mark_bad(plan.layout, plan.name, UNVERIFIED)
            os.replace(partial, plan.release)
            result.linked_files, result.copied_files = stats.linked, stats.copied
            data.update(
                release=plan.name,
                files=stats.files,
                linked=stats.linked,
                copied=stats.copied,
                shared=links.linked,
                seeded=links.seeded,
                missing_shared=links.missing,
                message=f"release {plan.name}: {stats.files} files ({stats.linked} hard-linked)",
            )
        if links.missing:
            run.say(
                "warning: shared paths missing from shared/ and SRC: " + ", ".join(links.missing)
            )
        return True


class Gate(DeployStep):
    name = "gate"

    def describe(self, plan: DeployPlan) -> str:
        against = f" against {plan.previous} (only new problems count)" if plan.previous else ""
        config = f", with the server config {plan.config.server_config}"
        return (
            f"run premortem check on {_rel(plan, plan.release)}{against} for the web user "
            f"{plan.config.web_user}{config if plan.config.server_config else ''}; "
            "stop the deploy if it finds an error"
        )

    def run(self, run: DeployRun) -> bool:
        plan = run.plan
        with run.recorder.step("gate", "deploy.gate") as data:
            baseline = plan.layout.release_path(plan.previous) if plan.previous else None
            gate = run_gate(
                plan.release,
                baseline,
                web_user=plan.config.web_user,
                server_config=plan.config.server_config,
            )
            run.result.gate = gate
            data.update(gate.to_dict(), release=plan.name, message=gate.summary())
        return gate.ok or run.stop("gate", gate.summary())


class Stage(DeployStep):
    name = "stage"

    def describe(self, plan: DeployPlan) -> str:
        server = "php-fpm behind a stage nginx" if plan.config.server == "nginx" else "Apache"
        if apache_fcgi_address(plan.config):
            server = "php-fpm behind a stage Apache"
        return (
            f"serve {_rel(plan, plan.release)} with a stage {server} on 127.0.0.1 (a free port, "
            f"Host {plan.config.url}) and request {', '.join(plan.config.smoke_paths)}; stop the "
            "deploy on an answer >= 500, a page that lost its body or a PHP fatal error in "
            "the stage's log"
        )

    def run(self, run: DeployRun) -> bool:
        plan = run.plan
        # The replay step's requests go to this stage server while it runs (one start).
        replaying = any(isinstance(step, Replay) for step in plan.steps)
        settings = settings_of(plan.config)
        urls, note = urls_to_replay(plan.config, settings) if replaying else ([], "")
        done: list[ReplayResult] = []
        with run.recorder.step("stage", "deploy.stage") as data:
            staged = run_stage(
                plan.config,
                plan.release,
                plan.config.path_of_state,
                previous_sizes=run.previous_sizes,
                while_up=(
                    (lambda server: done.append(replay_urls(server, urls, settings)))
                    if urls
                    else None
                ),
            )
            run.result.stage = staged
            if replaying:
                run.replayed = replay_outcome(done, urls, staged) if urls else None
                run.replay_note = note
            data.update(
                release=plan.name,
                ok=staged.ok,
                port=staged.port,
                message=f"stage: {staged.summary()}",
                smoke=[
                    {
                        "path": s.path,
                        "status": s.status,
                        "error": s.error,
                        "bytes": s.size,
                        "body_problem": s.body_problem,
                    }
                    for s in staged.smoke
                ],
                sizes=staged.sizes,
                fatals=len(staged.fatals),
            )
        return staged.ok or run.stop("stage", staged.summary())


class Replay(DeployStep):
    """Users' recent URLs on the stage (replay.py): what the smoke paths do not cover."""

    name = "replay"

    def describe(self, plan: DeployPlan) -> str:
        config = plan.config
        settings = settings_of(config)
        if settings.limit <= 0:
            return "replay = 0 in premortem.toml: no replay (the step records that)"
        if not config.access_log:
            return "no access_log in premortem.toml: nothing to replay (the step records that)"
        return (
            f"take up to {settings.limit} distinct GET/HEAD URLs from the end of "
            f"{config.access_log} (most requested first plus a sample of the rest; admin, "
            f"login, static and nonce URLs left out), request them on the stage server of "
            f"{_rel(plan, plan.release)} while it runs (Host {config.url}, "
            f"{settings.concurrency} at once, "
            f"at most {settings.seconds:g} s); stop the deploy if a URL production answered "
            "< 500 answers >= 500 there or PHP logs a fatal error"
        )

    def run(self, run: DeployRun) -> bool:
        plan = run.plan
        with run.recorder.step("replay", "deploy.replay") as data:
            # Done on the stage step's server when it ran; else a stage of its own.
            replayed = run.replayed or (
                ReplayResult(note=run.replay_note)
                if run.replay_note
                else stage_replay(plan.config, plan.release, settings_of(plan.config))
            )
            run.result.replay = replayed
            data.update(
                replayed.to_dict(), release=plan.name, message=f"replay: {replayed.summary()}"
            )
            data["replay_seconds"] = data["seconds"]  # the step's own time overwrites it
        if replayed.already_failing:
            failing = ", ".join(redact(a.url.target) for a in replayed.already_failing[:5])
            run.say(f"replay: already failing in production (not blocking): {failing}")
        return replayed.ok or run.stop("replay", replayed.summary())


def refresh_description(config: SiteConfig) -> str:
    """How the server is made to see the new release (see switch.py for why)."""
    if config.server == "nginx":
        return (
            "reload nginx if open_file_cache is on, and replace the php-fpm pool's workers "
            "gracefully unless SCRIPT_FILENAME comes from $realpath_root"
        )
    if apache_fcgi_address(config):
        return (
            "replace the php-fpm pool's workers gracefully (Apache passes PHP the path through "
            "`current`); Apache itself runs no PHP and is not restarted"
        )
    return f"restart Apache gracefully (apache2 -f {config.server_config} -k graceful)"


class Switch(DeployStep):
    name = "switch"

    def describe(self, plan: DeployPlan) -> str:
        return (
            f"point {plan.layout.current_link} at {_rel(plan, plan.release)} (a new symlink "
            f"renamed over it, atomic), then {refresh_description(plan.config)}"
        )

    def run(self, run: DeployRun) -> bool:
        plan = run.plan
        run.offset = access_log_offset(plan.config.access_log)
        with run.recorder.step("switch", "deploy.switch") as data:
            run.switched_at = time.monotonic()
            run.result.switch_seconds, refreshed = switch_and_reload(
                plan.config, plan.layout, plan.release
            )
            run.result.refreshed = refreshed
            replayed = _replay_note(run)
            data.update(
                release=plan.name,
                previous=plan.previous,
                refreshed=refreshed,
                replayed=run.result.replay.to_dict()["count"] if run.result.replay else None,
                # The postmortem of a later incident quotes this line (its timeline).
                message=f"current -> {plan.name}; " + "; ".join([*refreshed, replayed]),
            )
        return True


def _replay_note(run: DeployRun) -> str:
    """Whether the release going live had users' URLs replayed on its stage."""
    replayed = run.result.replay
    if replayed is None:
        why = "--no-stage" if not run.plan.options.stage else "--no-replay"
        return f"users' URLs not replayed on the stage ({why})"
    if replayed.note:
        return f"users' URLs not replayed on the stage ({replayed.note})"
    return f"replayed {len(replayed.answers)} URLs users requested on the stage first"


class Verify(DeployStep):
    name = "verify"

    def describe(self, plan: DeployPlan) -> str:
        options = plan.options
        log = f" and read {plan.config.access_log}" if plan.config.access_log else ""
        back = f"switch back to {plan.previous}" if plan.previous else "mark the release bad"
        return (
            f"request {', '.join(plan.config.smoke_paths)} of {plan.config.url} every "
            f"{options.verify_interval:g} s for {options.verify_window:g} s{log}; "
            f"if more than {options.max_error_rate:.0%} fail, {back}"
        )

    def run(self, run: DeployRun) -> bool:
        plan = run.plan
        with run.recorder.step("verify", "deploy.verify") as data:
            verified = verify_site(
                plan.config, plan.options, run.offset, run.previous_sizes, run.site_log
            )
            run.result.verify = verified
            data.update(
                release=plan.name,
                ok=verified.ok,
                sizes=verified.sizes,
                probes=verified.probes,
                failed_probes=verified.failed_probes,
                log_requests=verified.log_requests,
                log_errors=verified.log_errors,
                reason=verified.reason,
                message="verified" if verified.ok else f"verification failed: {verified.reason}",
            )
        if verified.ok:
            return True
        if plan.previous is None:
            return _failed_without_previous(run, verified)
        _roll_back(run, plan.previous, verified)
        return False


def _failed_without_previous(run: DeployRun, verified: VerifyResult) -> bool:
    plan, result = run.plan, run.result
    mark_bad(plan.layout, plan.name, f"verify: {verified.reason}")
    result.outcome, result.stopped_at = "failed", "verify"
    result.reason = f"{verified.reason}; no previous release to roll back to"
    run.recorder.event("deploy.failed", result.reason, release=plan.name, step="verify")
    return False


def _roll_back(run: DeployRun, previous: str, verified: VerifyResult) -> None:
    plan, result = run.plan, run.result
    run.say(f"verification failed ({verified.reason}); rolling back to {previous}")
    switch_and_reload(plan.config, plan.layout, plan.layout.release_path(previous), rollback=True)
    result.rollback_seconds = time.monotonic() - run.switched_at
    # Requests the bad release was still answering finish and get logged.
    time.sleep(LOG_SETTLE_SECONDS)
    run.count_traffic()
    if plan.config.access_log:
        result.user_errors_after_switch = count_statuses(
            plan.config.access_log, run.offset, run.site_log
        )[1]
    mark_bad(
        plan.layout,
        plan.name,
        f"verify: {verified.reason} (rolled back automatically to {previous})",
        f"{operator()} (premortem deploy)",
    )
    result.outcome, result.stopped_at, result.reason = "rolled-back", "verify", verified.reason
    run.recorder.event(
        "rollback",
        f"automatic rollback {plan.name} -> {previous}: {verified.reason}",
        release=previous,
        from_release=plan.name,
        automatic=True,
        seconds_from_switch=round(result.rollback_seconds, 3),
        user_errors_after_switch=result.user_errors_after_switch,
    )
    run.recorder.event(
        "deploy.failed", f"release {plan.name} rolled back", release=plan.name, step="verify"
    )
    result.timings = dict(run.recorder.timings)


class SkipVerify(DeployStep):
    """The operator chose to skip verification (the seed's team had none)."""

    name = "verify"

    def describe(self, plan: DeployPlan) -> str:
        return "skip verification (--no-verify): the release counts as good once switched"

    def run(self, run: DeployRun) -> bool:
        run.recorder.event(
            "deploy.verify",
            "verification skipped (--no-verify)",
            release=run.plan.name,
            skipped=True,
        )
        return True


class Cleanup(DeployStep):
    name = "cleanup"

    def describe(self, plan: DeployPlan) -> str:
        kept = f" and {plan.previous}" if plan.previous else ""
        return (
            f"mark {plan.name} good; keep the {plan.options.keep} newest releases "
            f"(with {plan.name}{kept}) and remove older ones"
        )

    def run(self, run: DeployRun) -> bool:
        plan, result = run.plan, run.result
        clear_bad(plan.layout, plan.name)
        with run.recorder.step("cleanup", "deploy.cleanup") as data:
            protect = {plan.name} | ({plan.previous} if plan.previous else set())
            result.removed = cleanup_releases(plan.layout, plan.options.keep, protect)
            data.update(removed=result.removed, keep=plan.options.keep)
        result.timings = dict(run.recorder.timings)
        run.count_traffic()
        run.recorder.event(
            "deploy.done",
            f"release {plan.name} is live",
            release=plan.name,
            previous=plan.previous,
            user_requests=result.user_requests,
            user_errors=result.user_errors,
            timings={k: round(v, 3) for k, v in result.timings.items()},
        )
        return True


def steps_for(options: DeployOptions) -> list[DeployStep]:
    """The steps of a deploy with these options, in the order they run."""
    steps: list[DeployStep] = [CopyRelease()]
    if options.check:
        steps.append(Gate())
    if options.stage:
        steps.append(Stage())
        if options.replay:
            steps.append(Replay())
    steps.append(Switch())
    steps.append(Verify() if options.verify else SkipVerify())
    steps.append(Cleanup())
    return steps


def switch_and_reload(
    config: SiteConfig, layout: SiteLayout, release: Path, *, rollback: bool = False
) -> tuple[float, list[str]]:
    started = time.monotonic()
    switch_current(layout, release)
    done = reload_server(config, may_cut=rollback)
    return time.monotonic() - started, done


def verify_site(
    config: SiteConfig,
    options: DeployOptions,
    offset: int,
    previous_sizes: dict[str, int] | None = None,
    site_log: SiteLog | None = None,
) -> VerifyResult:
    return verify_production(
        config.url,
        list(config.smoke_paths),
        config.access_log,
        log_offset=offset,
        window=options.verify_window,
        interval=options.verify_interval,
        max_error_rate=options.max_error_rate,
        previous_sizes=previous_sizes,
        site_log=site_log or site_log_of(config),
        ca_file=config.ca_file,
    )


# Events whose `sizes` are a release's good page sizes per smoke path, newest wins.
SIZE_EVENTS = ("deploy.stage", "deploy.verify", "rollback.verify")


def recorded_sizes(store: Store, release: str) -> dict[str, int]:
    """The body sizes per smoke path last recorded for `release` by a stage or verification."""
    for event in reversed(store.events(kinds=SIZE_EVENTS)):
        sizes = event.data.get("sizes")
        if event.data.get("release") == release and isinstance(sizes, dict) and sizes:
            return {str(path): int(size) for path, size in sizes.items()}
    return {}


def production_sizes(config: SiteConfig) -> dict[str, int]:
    """The body sizes production serves now for each smoke path (good pages only): the
    previous release's, when no deploy recorded them (a release premortem did not verify)."""
    target = Target(ca_file=config.ca_file)
    with site_client(target, timeout=10.0, headers=PROBE_HEADERS) as client:
        smoke = [smoke_request(client, config.url, path, None) for path in config.smoke_paths]
    return good_page_sizes(smoke)


def plan_to_dict(plan: DeployPlan) -> dict[str, Any]:
    return {
        "release": plan.name,
        "previous": plan.previous,
        "source": str(plan.src),
        "site": str(plan.layout.root),
        "steps": plan.describe(),
    }
