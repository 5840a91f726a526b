"""Replay and rollback history on the real Apache lab, with users' traffic in its access log.

A release whose only fault is a PHP fatal on the feed passes the smoke paths (`/`,
`/wp-login.php`): the replay of the URLs users requested stops it at the stage; with
--no-replay it goes live and users get the 500. Rollback then marks it bad, and the release
live before C is A (the deploy history), never the feed-broken B.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy_helpers import cli, layout_of, private_lab
from premortem.ops.deploy.releases import current_release_name, list_releases
from premortem.ops.lab import Lab
from premortem.ops.lab.scenarios.feed_fatal import FeedFatal
from premortem.siteconfig import read_site_config
from premortem.store import open_store

pytestmark = pytest.mark.lab

# What users requested (each a few times): the home page, posts, the feed, a search.
TRAFFIC = ["/", "/", "/", "/hello-world/", "/hello-world/", "/feed/", "/feed/", "/?s=hello"]
QUICK = ("--no-check", "--no-replay", "--verify-seconds", "1")


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with private_lab("premortem-replay-test-") as lab:
        with httpx.Client(timeout=30) as client:
            for path in TRAFFIC:
                assert client.get(lab.url.rstrip("/") + path).status_code == 200, path
        yield lab


@pytest.fixture(scope="module")
def sources(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("src")
    good = base / "good"
    shutil.copytree(lab.release_dir, good, symlinks=True)
    feed = base / "feed"
    shutil.copytree(good, feed, symlinks=True)
    FeedFatal.break_release(feed)
    return {"good": good, "feed": feed}


def deploy(lab: Lab, src: Path, *extra: str) -> tuple[int, str]:
    proc = cli("deploy", str(src), "--config", str(lab.config_path), *extra)
    return proc.returncode, " ".join((proc.stdout + proc.stderr).split())


def test_replay_stops_a_release_that_breaks_only_the_feed(
    lab: Lab, sources: dict[str, Path]
) -> None:
    layout = layout_of(lab)
    before = current_release_name(layout)
    proc = cli("deploy", str(sources["feed"]), "--config", str(lab.config_path), "--format", "json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    assert result["outcome"] == "stopped" and result["stopped_at"] == "replay"
    assert result["reason"].startswith("/feed/ -> 500 (production 200)"), result["reason"]
    replay = result["replay"]
    assert replay["count"] >= 3 and replay["regressions"][0]["url"] == "/feed/"
    assert all(r["url"].endswith("feed/") for r in replay["regressions"])
    assert current_release_name(layout) == before
    assert lab.get("/feed/").status_code == 200  # users never met it
    stopped = list_releases(layout)[-1]
    assert stopped.bad and stopped.bad_reason is not None
    assert stopped.bad_reason.startswith("replay: /feed/")
    with open_store(read_site_config(lab.config_path).path_of_state) as store:
        event = store.events(kinds=("deploy.replay",))[-1]
    assert event.data["count"] == replay["count"] and event.data["regressions"]
    # The same comparison on its own, for a release staged by hand.
    proc = cli("verify", "--replay", "--against", stopped.name, "--config", str(lab.config_path))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "/feed/ -> 500 (production 200)" in " ".join(proc.stdout.split())


def test_without_replay_it_goes_live_and_rollback_follows_the_history(
    lab: Lab, sources: dict[str, Path]
) -> None:
    layout = layout_of(lab)
    code, out = deploy(lab, sources["good"], *QUICK)  # A
    assert code == 0, out
    release_a = current_release_name(layout)
    code, out = deploy(lab, sources["feed"], *QUICK)  # B: the smoke paths pass it
    assert code == 0, out
    release_b = current_release_name(layout)
    assert release_b != release_a
    assert lab.get("/feed/").status_code == 500 and lab.get("/").status_code == 200
    with open_store(read_site_config(lab.config_path).path_of_state) as store:
        switch = store.events(kinds=("deploy.switch",))[-1]
    # What the postmortem of the feed's incident quotes in its timeline.
    assert switch.data["release"] == release_b and switch.data["replayed"] is None
    assert "users' URLs not replayed on the stage (--no-replay)" in switch.message

    rollback = ("rollback", "--config", str(lab.config_path), "--verify-seconds", "1")
    proc = cli(*rollback, "--reason", "the feed answers 500")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert current_release_name(layout) == release_a
    code, out = deploy(lab, sources["good"], *QUICK)  # C
    assert code == 0, out
    release_c = current_release_name(layout)
    proc = cli(*rollback)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Before C users were on A; B (created after A) must never come back.
    assert current_release_name(layout) == release_a
    assert lab.get("/feed/").status_code == 200

    marks = {r.name: r for r in list_releases(layout)}
    assert marks[release_b].bad and marks[release_c].bad and not marks[release_a].bad
    assert marks[release_b].bad_reason == f"rollback to {release_a}: the feed answers 500"
    assert marks[release_b].bad_by and marks[release_b].bad_at
    listing = cli("releases", "--config", str(lab.config_path)).stdout
    line_b = next(line for line in listing.splitlines() if line.startswith(release_b))
    assert "bad: rollback to" in line_b and "the feed answers 500" in line_b and "(by " in line_b
