"""Impact measured from the access log, checked against an independent count of the lines."""

from __future__ import annotations

import gzip
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

from premortem.report.impact import error_rate_series, log_files, measure_impact

FIXTURE = Path(__file__).parent / "fixtures" / "report" / "access-seed.log"
LINE = re.compile(r'^(\S+) \S+ \S+ \[([^\]]+)\] "[^"]*" (\d{3}) ')


def independent_count(paths: list[Path], start: datetime, end: datetime) -> tuple[int, int, int]:
    """(requests, 5xx, clients with a 5xx), by regex and strptime, not by premortem's parser."""
    total = failed = 0
    affected: set[str] = set()
    for path in paths:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt") as handle:
            for line in handle:
                match = LINE.match(line)
                assert match, line
                when = datetime.strptime(match.group(2), "%d/%b/%Y:%H:%M:%S %z")
                if start <= when <= end:
                    total += 1
                    if match.group(3).startswith("5"):
                        failed += 1
                        affected.add(match.group(1))
    return total, failed, len(affected)


START = datetime(2026, 11, 26, 0, 56, 23, 400000, tzinfo=UTC)
END = datetime(2026, 11, 26, 0, 56, 45, 100000, tzinfo=UTC)


def test_counts_match_an_independent_count(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    shutil.copy(FIXTURE, log)
    impact = measure_impact(log, START, END)
    # The window is widened to whole seconds, as the log's times are whole seconds.
    assert impact.window_start == datetime(2026, 11, 26, 0, 56, 23, tzinfo=UTC)
    assert impact.window_end == datetime(2026, 11, 26, 0, 56, 46, tzinfo=UTC)
    total, failed, affected = independent_count([log], impact.window_start, impact.window_end)
    assert (impact.requests_total, impact.requests_failed) == (total, failed)
    assert impact.clients_affected == affected
    assert failed == 72  # every 500 of the recorded outage falls in the window
    assert impact.clients_total == 8  # seven rewritten load clients + the probes' 127.0.0.1
    assert impact.worst_urls[0].path == "/"
    assert abs(impact.failed_percent - 100 * failed / total) < 1e-9


def test_a_rotation_during_the_incident_loses_nothing(tmp_path: Path) -> None:
    lines = FIXTURE.read_text().splitlines(keepends=True)
    log = tmp_path / "access.log"
    (tmp_path / "access.log.2.gz").write_bytes(gzip.compress("".join(lines[:40]).encode()))
    (tmp_path / "access.log.1").write_text("".join(lines[40:90]))
    log.write_text("".join(lines[90:]))
    (tmp_path / "access.log.bak").write_text("".join(lines))  # not a rotation: ignored
    assert [p.name for p in log_files(log)] == ["access.log.2.gz", "access.log.1", "access.log"]
    whole = tmp_path / "whole.log"
    whole.write_text("".join(lines))
    split = measure_impact(log, START, END)
    single = measure_impact(whole, START, END)
    assert split.requests_total == single.requests_total
    assert split.requests_failed == single.requests_failed == 72


def test_outside_the_window_is_not_counted(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    shutil.copy(FIXTURE, log)
    before = measure_impact(
        log,
        datetime(2026, 11, 26, 0, 56, 18, tzinfo=UTC),
        datetime(2026, 11, 26, 0, 56, 22, tzinfo=UTC),
    )
    assert before.requests_total > 0
    assert before.requests_failed == 0


def test_error_rate_series_sees_the_outage(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    shutil.copy(FIXTURE, log)
    times, rates, totals = error_rate_series(
        log,
        datetime(2026, 11, 26, 0, 56, 18, tzinfo=UTC),
        datetime(2026, 11, 26, 0, 56, 49, tzinfo=UTC),
        buckets=31,
    )
    by_second = {t.strftime("%H:%M:%S"): r for t, r in zip(times, rates, strict=True)}
    assert by_second["00:56:20"] == 0
    assert by_second["00:56:28"] == 100
    assert by_second["00:56:40"] == 0
    assert sum(totals) == len(FIXTURE.read_text().splitlines())
