"""`premortem impact` and its engine: counts equal to a line-by-line reading, whatever the
window, the format, the compression, the disorder or the number of worker processes."""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from premortem.accesslog import AccessLogFormat, SiteFilter, SiteLog
from premortem.accesslog.scan import Window, tally_file
from premortem.report.impact import impact_of_logs

START = datetime(2026, 11, 26, 10, 0, 0, tzinfo=UTC)
VHOSTS = ("blog.example", "shop.example")


def write_log(path: Path, lines: int, *, vhost: bool = False, seed: int = 3) -> None:
    """A busy log: lines a few seconds out of order, odd requests, a garbage line or two."""
    rng = random.Random(seed)
    moment = START
    out: list[str] = []
    for i in range(lines):
        moment += timedelta(milliseconds=rng.randint(0, 900))
        logged = moment - timedelta(seconds=rng.choice((0, 0, 0, 1, 3)))
        status = rng.choice((200, 200, 200, 301, 404, 500, 502))
        request = rng.choice(
            (
                "GET / HTTP/1.1",
                "GET /feed/?paged=2 HTTP/1.1",
                'GET /search/\\"quoted\\" HTTP/1.1',
                "POST /wp-login.php HTTP/1.1",
                "-",
            )
        )
        prefix = f"{VHOSTS[i % 2]}:80 " if vhost else ""
        out.append(
            f"{prefix}10.0.{i % 7}.{i % 251} - - [{logged:%d/%b/%Y:%H:%M:%S +0000}] "
            f'"{request}" {status} {rng.randint(0, 9000)} "-" "agent/{i % 3}"'
        )
        if i % 997 == 0:
            out.append("this line is not in the format at all")
    path.write_text("\n".join(out) + "\n")


def reference(paths: list[Path], site_log: SiteLog, window: Window) -> tuple[int, int, int]:
    """(requests, 5xx, clients affected) read line by line with the format's own parser."""
    requests = failed = 0
    affected: set[str] = set()
    for path in paths:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt") as handle:
            for line in handle:
                record = site_log.parse(line)
                if record is None or not window.holds(int(record.time.timestamp())):
                    continue
                requests += 1
                if record.status >= 500:
                    failed += 1
                    affected.add(record.remote)
    return requests, failed, len(affected)


def window_at(minutes_from: float | None, minutes_to: float | None) -> Window:
    def at(minutes: float | None) -> float | None:
        return None if minutes is None else (START + timedelta(minutes=minutes)).timestamp()

    return Window(at(minutes_from), at(minutes_to))


@pytest.mark.parametrize(
    ("minutes_from", "minutes_to"),
    [(None, None), (0, 5), (30, 31.5), (70, None), (None, 0.2), (500, 600)],
)
def test_counts_equal_a_line_by_line_reading_for_any_window(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    minutes_from: float | None,
    minutes_to: float | None,
) -> None:
    from premortem.accesslog import scan

    log = tmp_path / "access.log"
    write_log(log, 12_000)
    # Small blocks: most are read by the block scanner, those holding a line not in the
    # format line by line; both must count alike.
    monkeypatch.setattr(scan, "BLOCK_BYTES", 1 << 14)
    read_by: Counter[str] = Counter()
    slow, fast = scan._Scanner._slow_tally, scan._Scanner._whole_block

    def counted_slow(self: scan._Scanner, *args: object) -> None:
        read_by["line by line"] += 1
        slow(self, *args)  # type: ignore[arg-type]

    def counted_fast(self: scan._Scanner, *args: object) -> bool:
        read_by["block"] += 1
        return fast(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(scan._Scanner, "_slow_tally", counted_slow)
    monkeypatch.setattr(scan._Scanner, "_whole_block", counted_fast)
    window = window_at(minutes_from, minutes_to)
    tally = tally_file(log, SiteLog(), window, workers=1)
    assert (tally.requests, tally.failed, len(tally.affected)) == reference(
        [log], SiteLog(), window
    )
    if tally.requests > 1_000:
        assert read_by["block"] > read_by["line by line"] > 0


def test_parallel_chunks_count_the_same_as_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from premortem.accesslog import scan

    log = tmp_path / "access.log"
    write_log(log, 20_000)
    alone = tally_file(log, SiteLog(), Window(), workers=1)
    monkeypatch.setattr(scan, "PARALLEL_BYTES", 1 << 16)
    monkeypatch.setattr(scan, "BLOCK_BYTES", 1 << 15)
    shared = tally_file(log, SiteLog(), Window(), workers=3)
    assert (shared.requests, shared.failed, shared.clients, shared.affected) == (
        alone.requests,
        alone.failed,
        alone.clients,
        alone.affected,
    )
    assert shared.per_path == alone.per_path and shared.per_minute == alone.per_minute


def test_one_sites_lines_of_a_shared_vhost_combined_log(tmp_path: Path) -> None:
    log = tmp_path / "other_vhosts_access.log"
    write_log(log, 6_000, vhost=True)
    site_log = SiteLog(AccessLogFormat.from_spec("vhost_combined"), SiteFilter({"blog.example"}))
    window = window_at(10, 40)
    tally = tally_file(log, site_log, window, workers=1)
    assert (tally.requests, tally.failed, len(tally.affected)) == reference([log], site_log, window)
    everyone = SiteLog(AccessLogFormat.from_spec("vhost_combined"))
    assert tally.requests < tally_file(log, everyone, window, workers=1).requests


def test_rotated_and_gzipped_files_add_up(tmp_path: Path) -> None:
    write_log(tmp_path / "access.log.1", 3_000, seed=1)
    plain = tmp_path / "access.log.2"
    write_log(plain, 2_000, seed=2)
    zipped = tmp_path / "access.log.2.gz"
    zipped.write_bytes(gzip.compress(plain.read_bytes()))
    plain.unlink()
    paths = [zipped, tmp_path / "access.log.1"]
    measured = impact_of_logs(paths, None, None, site_log=SiteLog())
    expected = reference(paths, SiteLog(), Window())
    assert (measured.requests_total, measured.requests_failed, measured.clients_affected) == (
        expected
    )
    assert sum(m.requests for m in measured.per_minute) == measured.requests_total
    assert sum(m.failed for m in measured.per_minute) == measured.requests_failed


def test_worst_urls_are_counted_without_the_query(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    write_log(log, 5_000)
    measured = impact_of_logs([log], None, None, site_log=SiteLog(), worst=10)
    failed: Counter[str] = Counter()
    for line in log.read_text().splitlines():
        record = SiteLog().parse(line)
        if record is not None and record.status >= 500:
            failed[record.path.split("?", 1)[0] or "/"] += 1
    assert {u.path: u.failed for u in measured.worst_urls} == dict(failed)
    assert "/feed/" in failed


def premortem(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "premortem", "impact", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )


def test_the_command_prints_the_reports_impact_object(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    write_log(log, 4_000)
    since, until = "2026-11-26T10:05:00+00:00", "2026-11-26T10:20:00+00:00"
    proc = premortem(str(log), "--since", since, "--until", until, "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    window = Window(
        datetime.fromisoformat(since).timestamp(), datetime.fromisoformat(until).timestamp()
    )
    assert (data["requests_total"], data["requests_failed"], data["clients_affected"]) == (
        reference([log], SiteLog(), window)
    )
    assert data["window_start"] == since and data["window_end"] == until
    markdown = premortem(
        str(log), "--since", since, "--until", until, "--format", "md", cwd=tmp_path
    )
    assert markdown.stdout.startswith("## Impact")
    assert f"| failed requests (5xx) | {data['requests_failed']} (" in markdown.stdout


def test_bad_input_is_one_clear_line(tmp_path: Path) -> None:
    missing = premortem(str(tmp_path / "nope.log"), cwd=tmp_path)
    assert missing.returncode == 2 and "no such log" in missing.stderr
    (tmp_path / "a.log").write_text("")
    when = premortem(str(tmp_path / "a.log"), "--since", "last tuesday", cwd=tmp_path)
    assert when.returncode == 2 and "--since 'last tuesday'" in when.stderr
    fmt = premortem(str(tmp_path / "a.log"), "--access-log-format", "bogus", cwd=tmp_path)
    assert fmt.returncode == 2 and "access_log_format 'bogus'" in fmt.stderr
    nothing = premortem(cwd=tmp_path)
    assert nothing.returncode == 2 and "which log?" in nothing.stderr
    for proc in (missing, when, fmt, nothing):
        assert "Traceback" not in proc.stderr
