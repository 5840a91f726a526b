"""bench_replay: how many seconds replaying users' URLs on the stage adds to a deploy.

Brings up its own Apache lab (mod_php, MariaDB, WordPress on 127.0.0.1) in a temp dir,
records traffic in its access log (the home page, the post, the feed, searches and query
variants: `--urls` distinct URLs, the most popular requested more often), then deploys the
same release `--runs` times with the replay and `--runs` times with `--no-replay`
(alternating; `--no-check --no-verify`: the steps around the stage are not what is
measured), each as its own process as users run it. Prints the median deploy seconds of
each, their difference (goal: <= 5 s for 200 URLs; the exit status judges the lab as
shipped, opcache on), the replay's own seconds, and, as the
peer, one `curl` process requesting the same URLs one after another against production
(what a smoke-test script in a deploy pipeline does), plus the load average (the machine is
shared). Measured twice: with the lab's PHP as shipped (opcache on, as production sites run
it, with revalidate_freq 0, validate_permission and revalidate_path on so that injected faults
still show at once) and, for comparison, with opcache off.

Writes replay.json and replay.md to $BENCH_OUT or bench/results/. Usage:
`make bench-replay` or `python bench/bench_replay.py [--runs N] [--urls N]`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from premortem.ops.deploy.replay import ReplaySettings, recent_records, select_urls  # noqa: E402
from premortem.ops.lab import Lab  # noqa: E402
from premortem.ops.lab.procs import free_port  # noqa: E402
from premortem.siteconfig import read_site_config  # noqa: E402
from premortem.sitelog import site_log_of  # noqa: E402

GOAL_SECONDS = 5.0


def traffic(count: int) -> list[tuple[str, int]]:
    """(URL, times requested): a few popular pages, then a long tail of query variants."""
    popular = [("/", 40), ("/hello-world/", 25), ("/feed/", 15), ("/sample-page/", 10)]
    popular += [("/comments/feed/", 5), ("/?s=hello", 5), ("/2026/", 3)]
    tail: list[tuple[str, int]] = []
    for n in range(count):
        kind = n % 4
        if kind == 0:
            tail.append((f"/?s=term{n}", 1 + n % 3))
        elif kind == 1:
            tail.append((f"/hello-world/?utm_source=news{n}", 1))
        elif kind == 2:
            tail.append((f"/feed/?ref={n}", 1))
        else:
            tail.append((f"/sample-page/?ref={n}", 1))
    return (popular + tail)[:count]


def record_traffic(log: Path, urls: list[tuple[str, int]]) -> None:
    """Append the requests as Apache's combined format logs them (answered 200)."""
    now = datetime.now(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
    lines = [
        f'198.51.100.{i % 250 + 1} - - [{now}] "GET {url} HTTP/1.1" 200 4321 "-" '
        f'"Mozilla/5.0 (bench)"\n'
        for i, (url, times) in enumerate(urls)
        for _ in range(times)
    ]
    with open(log, "a", encoding="utf-8") as out:
        out.writelines(lines)


def deploy(lab: Lab, src: Path, *extra: str) -> dict[str, Any]:
    started = time.monotonic()
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "premortem", "deploy", str(src), "--format", "json"),
            *("--config", str(lab.config_path), "--no-check", "--no-verify", *extra),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - started
    if proc.returncode != 0 or not proc.stdout:
        raise RuntimeError(f"deploy failed ({proc.returncode}): {proc.stderr[-800:]}")
    result: dict[str, Any] = json.loads(proc.stdout)
    result["wall_seconds"] = seconds
    return result


def curl_sequential(base: str, targets: list[str]) -> float:
    """One curl process requesting every URL in turn: the peer's smoke-test loop."""
    config = "".join(f'url = "{base}{t}"\noutput = "/dev/null"\n' for t in targets)
    started = time.monotonic()
    subprocess.run(
        ["curl", "-s", "-K", "-"], input=config, text=True, check=True, capture_output=True
    )
    return time.monotonic() - started


def measure(lab: Lab, runs: int, count: int) -> dict[str, Any]:
    config = read_site_config(lab.config_path)
    record_traffic(Path(config.access_log), traffic(count))
    chosen = select_urls(
        recent_records(config.access_log, site_log_of(config)), ReplaySettings(limit=count)
    )
    src = Path(tempfile.mkdtemp(prefix="premortem-bench-replay-src-"))
    try:
        shutil.copytree(lab.release_dir, src / "release", symlinks=True)
        with_replay: list[dict[str, Any]] = []
        without: list[dict[str, Any]] = []
        for run in range(runs):
            print(f"run {run + 1}/{runs}: deploy with replay ...", file=sys.stderr)
            with_replay.append(deploy(lab, src / "release"))
            print(f"run {run + 1}/{runs}: deploy --no-replay ...", file=sys.stderr)
            without.append(deploy(lab, src / "release", "--no-replay"))
    finally:
        shutil.rmtree(src, ignore_errors=True)
    peer = curl_sequential(lab.url.rstrip("/"), [u.target for u in chosen])
    replays = [r["replay"] for r in with_replay]
    return {
        "urls": len(chosen),
        "runs": runs,
        "deploy_with_replay": statistics.median(r["wall_seconds"] for r in with_replay),
        "deploy_without_replay": statistics.median(r["wall_seconds"] for r in without),
        "replay_seconds": statistics.median(r["seconds"] for r in replays),
        "replayed": statistics.median(r["count"] for r in replays),
        "skipped": statistics.median(r["skipped"] for r in replays),
        "regressions": sum(len(r["regressions"]) for r in replays),
        "stage_with_replay": statistics.median(r["timings"]["stage"] for r in with_replay),
        "stage_without_replay": statistics.median(r["timings"]["stage"] for r in without),
        "peer_curl_sequential": peer,
        "load_average": os.getloadavg(),
        "goal_seconds": GOAL_SECONDS,
    }


def disable_opcache(lab: Lab) -> None:
    """The lab runs PHP with opcache on, as production does; the second measurement turns it
    off, to show what opcache saves."""
    conf = lab.paths.php_site_conf
    on = "php_admin_flag opcache.validate_timestamps on"
    conf.write_text(conf.read_text().replace(on, f"{on}\n    php_admin_flag opcache.enable off"))
    lab.restart_server()


def markdown(m: dict[str, Any]) -> str:
    added = m["deploy_with_replay"] - m["deploy_without_replay"]
    verdict = "met" if added <= m["goal_seconds"] else "NOT met"
    load = ", ".join(f"{x:.1f}" for x in m["load_average"])
    return "\n".join(
        [
            f"bench_replay, PHP opcache {m['opcache']}: {m['urls']} URLs, median of "
            f"{m['runs']} runs (load average {load})",
            "",
            "| measure | seconds |",
            "|---|---|",
            f"| deploy with replay | {m['deploy_with_replay']:.2f} |",
            f"| deploy --no-replay | {m['deploy_without_replay']:.2f} |",
            f"| **added by the replay** (goal <= {m['goal_seconds']:g}: {verdict}) | {added:.2f} |",
            f"| the replay's requests ({m['replayed']:.0f} URLs, 4 at a time; "
            f"{m['skipped']:.0f} left out by the time budget) | "
            f"{m['replay_seconds']:.2f} |",
            f"| stage step with / without replay | {m['stage_with_replay']:.2f} / "
            f"{m['stage_without_replay']:.2f} |",
            f"| peer: one curl, the same URLs one after another (production) | "
            f"{m['peer_curl_sequential']:.2f} |",
            "",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--urls", type=int, default=200)
    args = parser.parse_args()
    out_dir = Path(os.environ.get("BENCH_OUT") or Path(__file__).parent / "results")
    out_dir.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="premortem-bench-replay-", dir="/tmp"))
    os.chmod(base, 0o755)
    lab = Lab(base / "lab", progress=lambda m: print(m, file=sys.stderr))
    try:
        lab.up(port=free_port())
        measured = [{**measure(lab, args.runs, args.urls), "opcache": "on (the lab's)"}]
        disable_opcache(lab)
        measured.append({**measure(lab, args.runs, args.urls), "opcache": "off"})
    finally:
        try:
            lab.destroy()  # a benchmark stops every server it started
        finally:
            shutil.rmtree(base, ignore_errors=True)
    (out_dir / "replay.json").write_text(json.dumps(measured, indent=2) + "\n")
    table = "\n".join(markdown(m) for m in measured)
    (out_dir / "replay.md").write_text(table)
    print(table)
    added = measured[0]["deploy_with_replay"] - measured[0]["deploy_without_replay"]
    return 0 if added <= GOAL_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
