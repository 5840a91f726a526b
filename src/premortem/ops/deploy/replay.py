"""Replay: request on the stage the URLs real users requested recently, before the switch.

The smoke paths (`/`, `/wp-login.php`) see two pages; a release that breaks only the feed,
the search results or one template passes them and reaches production, where users meet
it. Replay takes the distinct GET/HEAD URLs of the site's recent access log (read with the
site's format and, for a shared log, only the site's lines: `premortem.accesslog`), the
most requested first plus a sample of the rest, query strings kept, up to `replay` URLs
(premortem.toml, default 200) and within a time budget; requests each on the stage with the
production Host header, a few at a time; and compares the stage's answer with the status
production logged for that URL.

A URL production answered < 500 that the stage answers >= 500 (or not at all) stops the
deploy; so does a PHP fatal in the stage's error log during the replay when no replayed
URL was already failing in production (then the fatal may be that URL's). URLs that
already fail in production are reported and do not block.

Left out, because replaying them could change data or needs a session the log does not
keep: methods other than GET and HEAD; admin and login paths (`/wp-admin/`, admin-ajax
included, `wp-login.php`, `xmlrpc.php`, `wp-cron.php`, `wp-comments-post.php`); URLs with
a nonce or a preview; requests production answered 401/407 or logged with an HTTP user;
static files (no PHP runs for them); premortem's own probes. `replay_include` keeps only
URLs matching one of its glob patterns, `replay_exclude` drops those matching one.
"""

from __future__ import annotations

import fnmatch
import os
import random
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from premortem.accesslog import AccessRecord, SiteLog
from premortem.collectors.target import site_client
from premortem.ops.deploy.stage import PROBE_AGENT, StageResult, StageServer, run_stage
from premortem.redact import redact
from premortem.siteconfig import SiteConfig
from premortem.sitelog import site_log_of

# How much of the end of the access log is read: recent traffic, bounded cost.
RECENT_BYTES = 16 * 1024 * 1024
REPLAY_AGENT = f"premortem-replay/1 ({PROBE_AGENT})"
ADMIN_PATHS = (
    "/wp-admin/",
    "/wp-admin",
    "/wp-login.php",
    "/xmlrpc.php",
    "/wp-cron.php",
    "/wp-comments-post.php",
    "/wp-signup.php",
    "/wp-activate.php",
)
PRIVATE_QUERY = ("_wpnonce=", "preview=", "preview_id=", "action=logout", "doing_wp_cron")
STATIC_SUFFIXES = (
    ".css",
    ".js",
    ".map",
    ".png",
    ".jpg",
    ".jpeg",
    ".gif",
    ".webp",
    ".avif",
    ".svg",
    ".ico",
    ".woff",
    ".woff2",
    ".ttf",
    ".eot",
    ".otf",
    ".mp4",
    ".webm",
    ".mp3",
    ".pdf",
    ".zip",
    ".gz",
    ".txt",
    ".xml.gz",
)
MAX_URL_LENGTH = 2048


@dataclass(frozen=True)
class ReplaySettings:
    limit: int = 200
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    seconds: float = 30.0
    concurrency: int = 4


@dataclass(frozen=True)
class LoggedUrl:
    """A URL users requested: path and query as logged, how often, what production said."""

    target: str
    method: str
    count: int
    production_status: int


@dataclass(frozen=True)
class ReplayAnswer:
    url: LoggedUrl
    status: int | None
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.status is None or self.status >= 500

    def describe(self) -> str:
        answer = str(self.status) if self.status is not None else f"no answer ({self.error})"
        shown = redact(self.url.target)  # a token in a query string never reaches output
        return f"{shown} -> {answer} (production {self.url.production_status})"


@dataclass
class ReplayResult:
    selected: int = 0
    seconds: float = 0.0
    answers: list[ReplayAnswer] = field(default_factory=list)
    skipped: int = 0  # left unrequested when the time budget ran out
    fatals: list[str] = field(default_factory=list)
    note: str = ""  # why nothing was replayed

    @property
    def regressions(self) -> list[ReplayAnswer]:
        return [a for a in self.answers if a.failed and a.url.production_status < 500]

    @property
    def already_failing(self) -> list[ReplayAnswer]:
        return [a for a in self.answers if a.url.production_status >= 500]

    @property
    def blocking_fatals(self) -> list[str]:
        """Fatals logged during the replay that no URL failing in production explains."""
        return [] if self.already_failing else self.fatals

    @property
    def ok(self) -> bool:
        return not self.regressions and not self.blocking_fatals

    def summary(self) -> str:
        if self.note:
            return self.note
        text = ""
        if self.regressions:
            listed = "; ".join(a.describe() for a in self.regressions[:10])
            more = len(self.regressions) - 10
            text = f"{listed}{f' and {more} more' if more > 0 else ''}: "
            text += f"{len(self.regressions)} of "
        text += f"{len(self.answers)} URLs users requested"
        text += " fail on the stage only;" if self.regressions else " replayed;"
        text += f" {self.seconds:.1f}s"
        if self.skipped:
            text += f" ({self.skipped} left out: time budget)"
        if self.blocking_fatals:
            text += f"; PHP fatal during the replay: {self.blocking_fatals[0]}"
        if self.already_failing:
            failing = ", ".join(redact(a.url.target) for a in self.already_failing[:5])
            text += f"; already failing in production (not blocking): {failing}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "selected": self.selected,
            "count": len(self.answers),
            "seconds": round(self.seconds, 3),
            "skipped": self.skipped,
            "regressions": [_answer_dict(a) for a in self.regressions],
            "already_failing": [_answer_dict(a) for a in self.already_failing],
            "fatals": self.fatals[:10],
            "note": self.note,
        }


def _answer_dict(answer: ReplayAnswer) -> dict[str, Any]:
    return {
        "url": redact(answer.url.target),
        "method": answer.url.method,
        "production": answer.url.production_status,
        "stage": answer.status,
        "error": answer.error,
    }


def replayable(record: AccessRecord) -> bool:
    """Whether replaying the request is harmless and tells something (see the module doc)."""
    target = record.path
    if record.method not in ("GET", "HEAD") or not target.startswith("/"):
        return False
    if len(target) > MAX_URL_LENGTH or target.startswith("//"):
        return False
    if record.user is not None or record.status in (401, 407):
        return False
    if record.user_agent and PROBE_AGENT in record.user_agent:
        return False
    path, _, query = target.partition("?")
    lowered = path.lower()
    if any(lowered == p or lowered.startswith(p.rstrip("/") + "/") for p in ADMIN_PATHS):
        return False
    if lowered.endswith(STATIC_SUFFIXES):
        return False
    return not any(marker in query for marker in PRIVATE_QUERY)


def _wanted(target: str, settings: ReplaySettings) -> bool:
    if settings.include and not any(fnmatch.fnmatchcase(target, p) for p in settings.include):
        return False
    return not any(fnmatch.fnmatchcase(target, p) for p in settings.exclude)


def select_urls(records: Iterable[AccessRecord], settings: ReplaySettings) -> list[LoggedUrl]:
    """Distinct replayable URLs, the most requested first (three quarters of the cap when
    there are more than it holds) plus a sample of the rest; each with the status
    production last logged for it."""
    counts: dict[str, int] = {}
    last_status: dict[str, int] = {}
    gets: set[str] = set()
    for record in records:
        if not replayable(record) or not _wanted(record.path, settings):
            continue
        counts[record.path] = counts.get(record.path, 0) + 1
        last_status[record.path] = record.status
        if record.method == "GET":
            gets.add(record.path)
    ranked = sorted(counts, key=lambda t: (-counts[t], t))
    limit = max(0, settings.limit)
    if len(ranked) > limit:
        top = limit - limit // 4
        # Seeded: the same log selects the same URLs (a deploy can be explained afterwards).
        rest = random.Random(len(ranked)).sample(ranked[top:], limit - top)
        ranked = ranked[:top] + sorted(rest, key=lambda t: (-counts[t], t))
    return [LoggedUrl(t, "GET" if t in gets else "HEAD", counts[t], last_status[t]) for t in ranked]


def recent_records(
    path: str, site_log: SiteLog, max_bytes: int = RECENT_BYTES
) -> list[AccessRecord]:
    """The site's records in the last `max_bytes` of the access log (a partial first line is
    skipped); [] when the log cannot be read."""
    try:
        with open(path, "rb") as log:
            size = log.seek(0, os.SEEK_END)
            start = max(0, size - max_bytes)
            log.seek(start)
            chunk = log.read(size - start)
    except OSError:
        return []
    if start > 0:
        chunk = chunk[chunk.find(b"\n") + 1 :]
    parse = site_log.parse
    found: list[AccessRecord] = []
    for line in chunk.decode("utf-8", errors="replace").splitlines():
        record = parse(line)
        if record is not None:
            found.append(record)
    return found


def replay_urls(
    server: StageServer, urls: list[LoggedUrl], settings: ReplaySettings
) -> ReplayResult:
    """Request each URL on the stage (at most `settings.concurrency` at once), until the
    time budget runs out; the answers in the order of `urls`."""
    result = ReplayResult(selected=len(urls))
    started = time.monotonic()
    deadline = started + settings.seconds
    headers = {"User-Agent": REPLAY_AGENT}
    if server.host:
        headers["Host"] = server.host
    timeout = max(1.0, min(10.0, settings.seconds))
    with site_client(server.target, timeout=timeout, headers=headers) as client:

        def one(url: LoggedUrl) -> ReplayAnswer | None:
            if time.monotonic() >= deadline:
                return None
            try:
                response = client.request(url.method, server.base + url.target)
            except httpx.HTTPError as exc:
                return ReplayAnswer(url, None, type(exc).__name__)
            return ReplayAnswer(url, response.status_code)

        workers = max(1, min(settings.concurrency, len(urls) or 1))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="replay") as pool:
            answers = list(pool.map(one, urls))
    result.answers = [a for a in answers if a is not None]
    result.skipped = len(answers) - len(result.answers)
    result.seconds = time.monotonic() - started
    return result


def settings_of(config: SiteConfig) -> ReplaySettings:
    """The replay settings of premortem.toml (`replay`, `replay_include`, ...)."""
    return ReplaySettings(
        limit=config.replay,
        include=tuple(config.replay_include),
        exclude=tuple(config.replay_exclude),
        seconds=float(config.replay_seconds),
    )


def urls_to_replay(config: SiteConfig, settings: ReplaySettings) -> tuple[list[LoggedUrl], str]:
    """The URLs to replay, or none and why."""
    if settings.limit <= 0:
        return [], "replay disabled (replay = 0)"
    if not config.access_log:
        return [], "no access_log in premortem.toml: nothing to replay"
    records = recent_records(config.access_log, site_log_of(config))
    urls = select_urls(records, settings)
    if not urls:
        return [], f"no replayable GET/HEAD request in {config.access_log}"
    return urls, ""


def stage_replay(config: SiteConfig, release: Path, settings: ReplaySettings) -> ReplayResult:
    """Serve `release` on a stage (as the deploy's stage step does) and replay users' recent
    URLs on it; the stage is stopped afterwards, always."""
    urls, note = urls_to_replay(config, settings)
    if not urls:
        return ReplayResult(note=note)
    done: list[ReplayResult] = []
    staged = run_stage(
        config,
        release,
        config.path_of_state,
        paths=[],
        while_up=lambda server: done.append(replay_urls(server, urls, settings)),
    )
    return replay_outcome(done, urls, staged)


def replay_outcome(
    done: list[ReplayResult], urls: list[LoggedUrl], staged: StageResult
) -> ReplayResult:
    """The replay's result once the stage stopped, with the fatals it logged meanwhile."""
    result = done[0] if done else ReplayResult(selected=len(urls), note="the stage did not serve")
    result.fatals = staged.while_up_fatals
    return result
