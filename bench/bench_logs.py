"""Measure `premortem impact` on big access logs, against GoAccess and awk in the same run.

    .venv/bin/python bench/bench_logs.py [--lines 1000000] [--big-lines 10000000] [--dir DIR]

Writes a combined log of --lines lines (a busy site: 5,000 clients, 3% 5xx, lines a few
seconds out of order) and one of --big-lines lines (the first, one day per copy), then:

1. the whole small log: `premortem impact --format json`, GoAccess 1.7 (`--log-format=COMBINED`)
   and `awk '$9 ~ /^5/'`; the counts must equal awk's; prints lines/s and the ratios;
2. the last 15 minutes of the big log (`--since/--until`): premortem (bisection) and awk over
   the whole file; the counts must be equal.

Exit 1 when a count differs or a bar is missed (impact >= 5x GoAccess; the 15-minute range
under 1 s). The logs are deleted at the end unless --keep.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

START = datetime(2026, 11, 1, 0, 0, 30, tzinfo=UTC)
PATHS = [f"/{area}/{n}/" for area in ("blog", "shop", "tag", "feed") for n in range(50)] + [
    "/",
    "/wp-login.php",
    "/?s=query&paged=2",
]
AGENTS = ("Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0", "curl/7.88")


def write_day(path: Path, lines: int) -> None:
    """`lines` requests spread over less than one day from START."""
    rng = random.Random(11)
    step = 86_000.0 / lines
    clients = [
        f"10.{rng.randint(0, 30)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}" for _ in range(5000)
    ]
    with path.open("w") as out:
        for i in range(lines):
            logged = START + timedelta(seconds=i * step - rng.choice((0, 0, 0, 1, 2)))
            status = 500 if rng.random() < 0.03 else rng.choice((200, 200, 301, 404))
            out.write(
                f"{rng.choice(clients)} - - [{logged:%d/%b/%Y:%H:%M:%S +0000}] "
                f'"GET {rng.choice(PATHS)} HTTP/1.1" {status} {rng.randint(200, 90000)} '
                f'"https://blog.example/" "{rng.choice(AGENTS)}"\n'
            )


def write_days(day: Path, path: Path, copies: int) -> None:
    """`copies` days: the day's log again with its date moved on by one day each time."""
    text = day.read_bytes()
    with path.open("wb") as out:
        for n in range(copies):
            date = START + timedelta(days=n)
            out.write(text.replace(b"01/Nov/2026", f"{date:%d/%b/%Y}".encode()))


def timed(command: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, proc.stdout


def awk_counts(path: Path, since: str = "", until: str = "") -> tuple[int, int]:
    """(requests, 5xx) by awk: the reference every count must equal."""
    where = f'$4 >= "[{since}" && $4 <= "[{until}"' if since else "1"
    program = f"{where} {{ n++ }} {where} && $9 ~ /^5/ {{ f++ }} END {{ print n + 0, f + 0 }}"
    _seconds, out = timed(["awk", program, str(path)])
    requests, failed = out.split()
    return int(requests), int(failed)


def impact(path: Path, *extra: str) -> tuple[float, dict[str, int]]:
    seconds, out = timed(
        [sys.executable, "-m", "premortem", "impact", str(path), "--format", "json", *extra]
    )
    return seconds, json.loads(out)


def goaccess(path: Path, out: Path) -> tuple[float, int]:
    seconds, _ = timed(
        ["goaccess", str(path), "--log-format=COMBINED", "--no-progress", "-o", str(out)]
    )
    codes = json.loads(out.read_text())["status_codes"]["data"]
    return seconds, next((c["hits"]["count"] for c in codes if c["data"].startswith("5")), 0)


def whole_log(small: Path, lines: int, work: Path) -> bool:
    awk_seconds = timed(["awk", "$9 ~ /^5/ { f++ } END { print f }", str(small)])[0]
    expected = awk_counts(small)
    seconds, data = impact(small)
    ga_seconds, ga_failed = goaccess(small, work / "goaccess.json")
    got = (data["requests_total"], data["requests_failed"])
    ratio = ga_seconds / seconds
    print(f"whole log, {lines:,} lines ({small.stat().st_size / 1e6:.0f} MB):")
    print(f"  premortem impact  {seconds:6.2f} s  {lines / seconds:10,.0f} lines/s  {got}")
    ga_rate = lines / ga_seconds
    print(f"  GoAccess 1.7      {ga_seconds:6.2f} s  {ga_rate:10,.0f} lines/s  5xx {ga_failed}")
    print(f"  awk (5xx only)    {awk_seconds:6.2f} s  reference {expected}")
    print(f"  impact is {ratio:.1f}x GoAccess (bar: 5x)")
    return got == expected and ga_failed == expected[1] and ratio >= 5


def last_minutes(big: Path, lines: int, days: int) -> bool:
    end = START + timedelta(days=days - 1, seconds=86_000)
    begin = end - timedelta(minutes=15)
    seconds, data = impact(big, "--since", begin.isoformat(), "--until", end.isoformat())
    expected = awk_counts(big, f"{begin:%d/%b/%Y:%H:%M:%S}", f"{end:%d/%b/%Y:%H:%M:%S}")
    got = (data["requests_total"], data["requests_failed"])
    print(f"last 15 minutes of {lines * days:,} lines ({big.stat().st_size / 1e9:.1f} GB):")
    print(f"  premortem impact  {seconds:6.2f} s  {got}  (bar: 1 s)")
    print(f"  awk reference     {expected}")
    return got == expected and seconds < 1.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--big-lines", type=int, default=10_000_000)
    parser.add_argument("--dir", type=Path, help="where the logs go (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the logs")
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="premortem-bench-logs-", dir="/var/tmp"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        small, big = work / "access-small.log", work / "access-big.log"
        started = time.perf_counter()
        write_day(small, args.lines)
        days = max(1, args.big_lines // args.lines)
        write_days(small, big, days)
        print(f"wrote the logs in {time.perf_counter() - started:.0f} s ({work})")
        ok = whole_log(small, args.lines, work)
        ok = last_minutes(big, args.lines, days) and ok
    finally:
        if not args.keep and not args.dir:
            shutil.rmtree(work, ignore_errors=True)
    print("all bars met" if ok else "a count differs or a bar was missed")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
