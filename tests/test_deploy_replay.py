"""Replay's choice of URLs (a recorded access log) and verdict, and rollback's history."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from deploy_helpers import make_site
from premortem.accesslog import AccessRecord, SiteLog
from premortem.errors import PremortemError
from premortem.ops.deploy.events import live_history
from premortem.ops.deploy.releases import SiteLayout, list_releases, mark_bad, rollback_target
from premortem.ops.deploy.replay import (
    LoggedUrl,
    ReplayAnswer,
    ReplayResult,
    ReplaySettings,
    recent_records,
    select_urls,
)
from premortem.store import open_store

LOG = Path(__file__).parent / "fixtures" / "deploy" / "replay-access.log"
# What the recorded log's users requested that replay may request again, most requested
# first (ties by URL): admin, login, POST/DELETE, static files, premortem's probes, HTTP
# users, 401s, previews, nonces and garbage are left out.
EXPECTED = [
    "/",
    "/hello-world/",
    "/feed/",
    "/?s=hello",
    "/was-broken/",
    "/?s=hello+world&paged=2",
    "/broken-in-production/",
    "/missing/",
    "/sample-page/",
]


def records() -> list[AccessRecord]:
    return recent_records(str(LOG), SiteLog())


def test_selection_keeps_what_users_requested_most_and_leaves_out_the_unsafe() -> None:
    urls = select_urls(records(), ReplaySettings())
    assert [u.target for u in urls] == EXPECTED
    by_target = {u.target: u for u in urls}
    assert by_target["/"].count == 9
    # The status production logged last is what the stage is compared with.
    assert by_target["/was-broken/"].production_status == 200
    assert by_target["/broken-in-production/"].production_status == 500
    # A URL users only requested with HEAD is replayed with HEAD, the rest with GET.
    assert by_target["/sample-page/"].method == "HEAD"
    assert by_target["/feed/"].method == "GET"


def test_cap_takes_the_top_and_a_stable_sample_of_the_rest() -> None:
    first = select_urls(records(), ReplaySettings(limit=4))
    again = select_urls(records(), ReplaySettings(limit=4))
    assert first == again  # the same log selects the same URLs
    assert [u.target for u in first[:3]] == EXPECTED[:3]
    assert len(first) == 4 and first[3].target in EXPECTED[3:]
    assert select_urls(records(), ReplaySettings(limit=0)) == []


def test_include_and_exclude_patterns_match_path_and_query() -> None:
    searches = select_urls(records(), ReplaySettings(include=("/?s=*",)))
    assert [u.target for u in searches] == ["/?s=hello", "/?s=hello+world&paged=2"]
    rest = select_urls(records(), ReplaySettings(exclude=("*paged=*", "/feed/")))
    assert "/feed/" not in [u.target for u in rest]
    assert "/?s=hello+world&paged=2" not in [u.target for u in rest]
    assert len(rest) == len(EXPECTED) - 2


def test_recent_records_reads_the_end_and_skips_a_cut_line() -> None:
    whole = records()
    size = LOG.stat().st_size
    # The tail starts inside a line: that line is dropped, never parsed half.
    tail = recent_records(str(LOG), SiteLog(), max_bytes=size // 3)
    assert 0 < len(tail) < len(whole)
    assert tail == whole[-len(tail) :]
    assert recent_records("/nonexistent/access.log", SiteLog()) == []


def _answer(target: str, production: int, stage: int | None) -> ReplayAnswer:
    url = LoggedUrl(target, "GET", 1, production)
    return ReplayAnswer(url, stage, None if stage is not None else "ReadTimeout")


def test_a_url_failing_only_on_the_stage_blocks_and_is_named() -> None:
    result = ReplayResult(
        selected=3,
        answers=[
            _answer("/", 200, 200),
            _answer("/feed/", 200, 500),
            _answer("/slow/", 200, None),
        ],
    )
    assert not result.ok
    assert [a.url.target for a in result.regressions] == ["/feed/", "/slow/"]
    summary = result.summary()
    assert summary.startswith("/feed/ -> 500 (production 200); /slow/ -> no answer")
    assert "2 of 3 URLs" in summary
    data = result.to_dict()
    assert data["count"] == 3 and data["regressions"][0]["url"] == "/feed/"


def test_urls_already_failing_in_production_are_reported_not_blocking() -> None:
    result = ReplayResult(
        selected=2,
        answers=[_answer("/", 200, 200), _answer("/old-bug/", 500, 500)],
        fatals=["PHP Fatal error:  Uncaught Error: ... old-bug.php:3"],
    )
    # The fatal may be the already failing URL's: it does not block either.
    assert result.ok
    assert "already failing in production (not blocking): /old-bug/" in result.summary()
    fatal_only = ReplayResult(selected=1, answers=[_answer("/", 200, 200)], fatals=["PHP x"])
    assert not fatal_only.ok and "PHP fatal during the replay" in fatal_only.summary()


NAMES = ["20261120T100000Z", "20261121T100000Z", "20261122T100000Z", "20261123T100000Z"]
X, A, B, C = NAMES


def test_rollback_follows_the_history_not_the_creation_order(tmp_path: Path) -> None:
    layout = SiteLayout(make_site(tmp_path / "site", NAMES, C))
    # deploy A, deploy B, rollback to A, deploy C: B was created after A, but before C
    # users were on A (even with B not marked bad, as an older premortem left it).
    assert rollback_target(layout, history=[A, B, A, C]).name == A
    assert rollback_target(layout).name == B  # what creation order alone would choose
    mark_bad(layout, A, "rolled back")
    assert rollback_target(layout, history=[A, B, A, C]).name == B  # the one live before
    mark_bad(layout, B, "rolled back")
    # Everything the history names is bad or current: creation order for the rest (the
    # release live before premortem's first deploy), the releases the history knew excluded.
    assert rollback_target(layout, history=[A, B, A, C]).name == X


def test_rollback_never_lands_on_a_bad_release(tmp_path: Path) -> None:
    layout = SiteLayout(make_site(tmp_path / "site", NAMES, A))
    mark_bad(layout, X, "rolled back from")
    with pytest.raises(PremortemError, match="no good release"):
        rollback_target(layout, history=[X, A])


def test_live_history_from_the_event_store(tmp_path: Path) -> None:
    moment = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
    with open_store(tmp_path / "state") as store:
        for second, (kind, data) in enumerate(
            [
                ("deploy.switch", {"release": A}),
                ("deploy.switch", {"release": B}),
                ("rollback.switch", {"release": A}),
                ("rollback", {"release": A, "automatic": False}),
                ("deploy.switch", {"release": C}),
                ("deploy.verify", {"release": C}),
                ("rollback", {"release": A, "automatic": True}),
            ]
        ):
            store.add_event(kind, kind, data=data, at=moment.replace(second=second))
        assert live_history(store) == [A, B, A, C, A]


def test_a_bad_mark_says_who_when_and_why(tmp_path: Path) -> None:
    layout = SiteLayout(make_site(tmp_path / "site", NAMES, C))
    mark_bad(layout, B, "rollback to A: the feed answers 500", by="alice")
    bad = {r.name: r for r in list_releases(layout)}[B]
    assert bad.bad and bad.bad_by == "alice" and bad.bad_reason is not None
    assert "feed" in bad.bad_reason and bad.bad_at is not None
    assert datetime.fromisoformat(bad.bad_at).tzinfo is not None
    data = bad.to_dict()
    assert data["bad_by"] == "alice" and data["bad_at"] == bad.bad_at


def test_a_token_in_a_replayed_url_never_reaches_output() -> None:
    result = ReplayResult(selected=1, answers=[_answer("/download/?token=s3cr3tvalue", 200, 500)])
    assert "s3cr3tvalue" not in result.summary()
    assert "s3cr3tvalue" not in str(result.to_dict())
