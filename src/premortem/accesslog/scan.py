"""Counting a big access log fast: the tallies `premortem impact` and `report` need.

A busy site writes millions of lines a day and a postmortem often covers a window of
minutes in them. Three things keep that quick:

- **bisection** (`window_offsets`): logs are written in time order, nearly (a server logs
  a request when it ends, so lines can be a few seconds out of order). The byte range of
  a time window is found by bisecting the file on the time of the first whole line after
  an offset, widened by `DISORDER_SECONDS` on both sides; the lines in that range are then
  filtered exactly. Compressed rotated files cannot be bisected: they are read whole.
- **a scanner tuned for the common shapes** (`_fast_tally`): for combined/common lines
  (Debian's vhost_combined, and HAProxy's httplog, whose records also name the server that
  answered: `Tally.per_server`) one bytes regex over a whole block gives the columns
  (client, time, path, status; vhost and port), `zip` transposes them and C-implemented
  `Counter`/`set` updates count them; a time string is parsed once per distinct second.
  A block where a line does not fit the shape (a request with an escaped quote cut short,
  a partial line) is read line by line with the format's full parser instead, so the counts
  are the parser's own. Other formats always use the full parser.
- **chunks in parallel** (`tally_file`): a range over `PARALLEL_BYTES` is split at line
  boundaries across processes (fork), whose tallies are merged.

Paths are counted without their query string. All times are Unix seconds.
"""

from __future__ import annotations

import gzip
import itertools
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import IO, NamedTuple, TypeVar

from premortem.accesslog.haproxy import accept_epoch
from premortem.accesslog.record import parse_clf_time, split_request
from premortem.accesslog.site import SiteLog

T = TypeVar("T")
# Lines may be this many seconds out of time order (a slow request is logged when it ends).
DISORDER_SECONDS = 30
BLOCK_BYTES = 8 << 20
PARALLEL_BYTES = 48 << 20
_PROBE_BYTES = 64 << 10
# combined/common: client, time, path (no query), status. Quoted text honours Apache's \"
# escapes, written as "unrolled loops" (no alternation per character: 2x faster).
_COMBINED = (
    rb'^(\S+) \S+ \S+ \[([^\]\n]+)\] "(?:[A-Z]+ )?([^ "?\\\n]*(?:\\.[^ "?\\\n]*)*)'
    rb'[^"\\\n]*(?:\\.[^"\\\n]*)*" (\d{3})[ \r\n]'
)
_VHOST_PREFIX = rb"^([^\s:]+):(\d+) "  # Debian's vhost_combined: "%v:%p " first
# HAProxy httplog, after any syslog header: client, accept second, server, status, request.
_HAPROXY = (
    rb"^(?:[^\n]*?[\s>])??([^\s<>\[\]]+):\d+ "
    rb"\[(\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d)\.\d{3}\] \S+ [^\s/]+/(\S+) "
    rb"[-+\d]+/[-+\d]+/[-+\d]+/[-+\d]+/[-+\d]+ (-1|\d{3}) \+?\d+ \S+ \S+ \S{4} "
    rb'\d+/\d+/\d+/\d+/\+?\d+ \d+/\d+(?: \{[^}\n]*\})*(?: "([^"\n]*)"?)?[ \t\r]*$'
)


def status_text(status: int) -> bytes:
    """A status as the logs write it (three digits, or -1), as the block scanner counts it."""
    return f"{status:03d}".encode() if status >= 0 else str(status).encode()


_SHAPES = {
    "combined": re.compile(_COMBINED, re.M),
    "vhost_combined": re.compile(_VHOST_PREFIX + _COMBINED[1:], re.M),
    "haproxy": re.compile(_HAPROXY, re.M),
}


@dataclass
class Window:
    """[start, end] in Unix seconds (None: unbounded)."""

    start: float | None = None
    end: float | None = None

    def holds(self, moment: float) -> bool:
        return (self.start is None or moment >= self.start) and (
            self.end is None or moment <= self.end
        )


@dataclass
class Tally:
    """What a range of lines holds (keys are bytes as logged; paths without the query)."""

    requests: int = 0
    failed: int = 0
    clients: set[bytes] = field(default_factory=set)
    affected: set[bytes] = field(default_factory=set)
    per_path: Counter[bytes] = field(default_factory=Counter)
    failed_per_path: Counter[bytes] = field(default_factory=Counter)
    statuses: Counter[bytes] = field(default_factory=Counter)
    per_minute: Counter[int] = field(default_factory=Counter)
    failed_per_minute: Counter[int] = field(default_factory=Counter)
    first: float | None = None
    last: float | None = None
    lines_read: int = 0
    # A load balancer's log (HAProxy): per server that answered ("<NOSRV>": none did).
    per_server: Counter[bytes] = field(default_factory=Counter)
    failed_per_server: Counter[bytes] = field(default_factory=Counter)
    affected_per_server: dict[bytes, set[bytes]] = field(default_factory=dict)

    def merge(self, other: Tally) -> None:
        self.requests += other.requests
        self.failed += other.failed
        self.clients |= other.clients
        self.affected |= other.affected
        for mine, theirs in (
            (self.per_path, other.per_path),
            (self.failed_per_path, other.failed_per_path),
            (self.statuses, other.statuses),
        ):
            mine.update(theirs)
        self.per_minute.update(other.per_minute)
        self.failed_per_minute.update(other.failed_per_minute)
        self.seen(other.first, other.last)
        self.lines_read += other.lines_read
        self.per_server.update(other.per_server)
        self.failed_per_server.update(other.failed_per_server)
        for server, clients in other.affected_per_server.items():
            self.affected_per_server.setdefault(server, set()).update(clients)

    def add_columns(
        self,
        clients: Iterable[bytes],
        epochs: list[int],
        paths: Iterable[bytes],
        statuses: list[bytes],
        servers: Sequence[bytes] | None = None,
    ) -> None:
        """Count requests given as columns (one entry per request in each; `servers`: the
        server that answered each, for a load balancer's log)."""
        failing = [status[:1] == b"5" for status in statuses]
        clients, paths = list(clients), list(paths)
        if servers is not None:
            self._add_servers(clients, servers, failing)
        self.requests += len(statuses)
        self.failed += sum(failing)
        self.clients.update(clients)
        self.affected.update(c for c, bad in zip(clients, failing, strict=True) if bad)
        self.per_path.update(paths)
        self.failed_per_path.update(p for p, bad in zip(paths, failing, strict=True) if bad)
        self.statuses.update(statuses)
        minutes = [epoch // 60 * 60 for epoch in epochs]
        self.per_minute.update(minutes)
        self.failed_per_minute.update(m for m, bad in zip(minutes, failing, strict=True) if bad)
        if epochs:
            self.seen(min(epochs), max(epochs))

    def _add_servers(
        self, clients: list[bytes], servers: Sequence[bytes], failing: list[bool]
    ) -> None:
        self.per_server.update(servers)
        for client, server, bad in zip(clients, servers, failing, strict=True):
            if bad:
                self.failed_per_server[server] += 1
                self.affected_per_server.setdefault(server, set()).add(client)

    def seen(self, first: float | None, last: float | None) -> None:
        if first is not None:
            self.first = first if self.first is None else min(self.first, first)
        if last is not None:
            self.last = last if self.last is None else max(self.last, last)


# ---------------------------------------------------------------- reading a range of lines


class Columns(NamedTuple):
    """A block's requests as columns, one entry per line in each."""

    clients: Sequence[bytes]
    times: Sequence[bytes]
    paths: Sequence[bytes]
    statuses: Sequence[bytes]


class _Scanner:
    """Tallies blocks of one format; times parsed once per distinct string."""

    def __init__(self, site_log: SiteLog, window: Window) -> None:
        self.site_log = site_log
        self.window = window
        shape = site_log.log_format.shape
        self.regex = _SHAPES.get(shape or "")
        self.has_vhost = shape == "vhost_combined"
        self.is_haproxy = shape == "haproxy"
        self.logs_server = site_log.log_format.logs_server
        self.epochs: dict[bytes, int | None] = {}
        self.paths: dict[bytes, bytes] = {}

    def tally(self, block: bytes, into: Tally) -> None:
        lines = block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
        into.lines_read += lines
        matches = self.regex.findall(block) if self.regex is not None else None
        if matches is None or len(matches) != lines:
            self._slow_tally(block, into)
            return
        if not matches:
            return
        if self.is_haproxy:
            self._haproxy_block(matches, into)
            return
        columns = list(zip(*matches, strict=True))
        if self.has_vhost:
            vhosts, ports, columns = columns[0], columns[1], columns[2:]
            keep = self._kept_by_site(vhosts, ports)
            if keep is not None:
                columns = [tuple(c for c, k in zip(col, keep, strict=True) if k) for col in columns]
                self._add(into, Columns(*columns))
                return
        whole = Columns(*columns)
        if not self._whole_block(into, whole):
            self._add(into, whole)

    def _whole_block(self, into: Tally, block: Columns) -> bool:
        """Count a block whose every line is in the window with C-implemented counters only
        (False: some line is not, or has no readable time; the caller filters line by line)."""
        clients, times, paths, statuses = block
        per_time = Counter(times)
        epochs = self._epochs_of(per_time)
        if not all(e is not None and self.window.holds(e) for e in epochs.values()):
            return False
        into.requests += len(times)
        into.clients.update(clients)
        into.per_path.update(paths)
        into.statuses.update(statuses)
        for text, count in per_time.items():
            into.per_minute[epochs[text] // 60 * 60] += count  # type: ignore[operator]
        failing = [i for i, status in enumerate(statuses) if status[0] == 0x35]  # b"5"
        if failing:
            into.failed += len(failing)
            into.affected.update(clients[i] for i in failing)
            into.failed_per_path.update(paths[i] for i in failing)
            for i in failing:
                into.failed_per_minute[epochs[times[i]] // 60 * 60] += 1  # type: ignore[operator]
        into.seen(
            min(e for e in epochs.values() if e is not None),
            max(e for e in epochs.values() if e is not None),
        )
        return True

    def _epochs_of(self, times: Iterable[bytes]) -> dict[bytes, int | None]:
        """Each distinct time string as Unix seconds (None: unreadable), parsed once."""
        epoch_of = self.epochs
        for text in set(times) - epoch_of.keys():
            if self.is_haproxy:
                epoch_of[text] = accept_epoch(text.decode("ascii", "replace"))
                continue
            when = parse_clf_time(text.decode("ascii", "replace"))
            epoch_of[text] = int(when.timestamp()) if when is not None else None
        return {text: epoch_of[text] for text in times}

    def _haproxy_block(self, matches: list[tuple[bytes, ...]], into: Tally) -> None:
        """HAProxy httplog columns: client, accept second, server, status, request line."""
        clients, times, servers, statuses, requests = zip(*matches, strict=True)
        epoch_of = self._epochs_of(set(times))
        found = [epoch_of[t] for t in times]
        keep = [e is not None and self.window.holds(e) for e in found]
        into.add_columns(
            _kept(clients, keep),
            [e for e in found if e is not None and self.window.holds(e)],
            [self._path_of(r) for r in _kept(requests, keep)],
            _kept(statuses, keep),
            _kept(servers, keep),
        )

    def _path_of(self, request: bytes) -> bytes:
        """A request line's path without its query, as the full parser splits it."""
        path = self.paths.get(request)
        if path is None:
            text = request.decode("utf-8", "surrogateescape")
            path = split_request(text)[1].split("?", 1)[0].encode("utf-8", "surrogateescape")
            if len(self.paths) < 100_000:
                self.paths[request] = path
        return path

    def _kept_by_site(
        self, vhosts: tuple[bytes, ...], ports: tuple[bytes, ...]
    ) -> list[bool] | None:
        if not self.site_log.filters:
            return None
        site = self.site_log.site
        verdict: dict[tuple[bytes, bytes], bool] = {}
        for pair in set(zip(vhosts, ports, strict=True)):
            vhost, port = pair[0].decode("utf-8", "replace").lower().rstrip("."), int(pair[1])
            verdict[pair] = (site.port is None or port == site.port) and (
                not site.names or site.matches(vhost)
            )
        return [verdict[pair] for pair in zip(vhosts, ports, strict=True)]

    def _add(self, into: Tally, block: Columns) -> None:
        clients, times, paths, statuses = block
        epoch_of = self._epochs_of(set(times))
        found = [epoch_of[t] for t in times]
        window = self.window
        if None in found or window.start is not None or window.end is not None:
            keep = [e is not None and window.holds(e) for e in found]
            clients, paths, statuses = (
                _kept(clients, keep),
                _kept(paths, keep),
                _kept(statuses, keep),
            )
        epochs = [e for e in found if e is not None and window.holds(e)]
        into.add_columns(clients, epochs, paths, list(statuses))

    def _slow_tally(self, block: bytes, into: Tally) -> None:
        """Line by line with the format's own parser (any format, or an odd block)."""
        parse = self.site_log.parse
        clients: list[bytes] = []
        epochs: list[int] = []
        paths: list[bytes] = []
        statuses: list[bytes] = []
        servers: list[bytes] = []
        # Lines end at \n only, as for the block scanner (splitlines() also cuts at \x85,
        # \x1c-\x1e and U+2028, which a log line may hold).
        # surrogateescape: a byte that is not UTF-8 stays that byte, so a client is the
        # same key here as in the block scanner's columns.
        for line in block.decode("utf-8", "surrogateescape").split("\n"):
            record = parse(line)
            if record is None:
                continue
            epoch = int(record.time.timestamp())
            if not self.window.holds(epoch):
                continue
            clients.append(record.remote.encode("utf-8", "surrogateescape"))
            epochs.append(epoch)
            paths.append(record.path.split("?", 1)[0].encode("utf-8", "surrogateescape"))
            statuses.append(status_text(record.status))
            servers.append((record.server or "").encode("utf-8", "surrogateescape"))
        into.add_columns(clients, epochs, paths, statuses, servers if self.logs_server else None)


def _kept(values: Sequence[T], keep: list[bool]) -> list[T]:
    return [v for v, k in zip(values, keep, strict=True) if k]


def _blocks(handle: IO[bytes], start: int, end: int | None) -> Iterator[bytes]:
    """Blocks of whole lines of [start, end) (end None: to the end of the stream)."""
    if start:
        handle.seek(start)
    position = start
    while end is None or position < end:
        size = BLOCK_BYTES if end is None else min(BLOCK_BYTES, end - position)
        block = handle.read(size)
        if not block:
            return
        if not block.endswith(b"\n"):
            block += handle.readline()  # finish the line the block cut
        position += len(block)
        yield block


def _tally_range(path: str, start: int, end: int, site_log: SiteLog, window: Window) -> Tally:
    tally = Tally()
    scanner = _Scanner(site_log, window)
    with open(path, "rb") as handle:
        for block in _blocks(handle, start, end):
            scanner.tally(block, tally)
    return tally


# ---------------------------------------------------------------- bisection and files


def _line_start(handle: IO[bytes], offset: int) -> int:
    """The offset of the first line starting at or after `offset`."""
    if offset <= 0:
        return 0
    handle.seek(offset - 1)
    handle.readline()
    return handle.tell()


def _time_after(
    handle: IO[bytes], offset: int, parse_time: Callable[[str], float | None]
) -> float | None:
    """The time of the first parseable line starting at or after `offset`."""
    handle.seek(_line_start(handle, offset))
    for line in handle.read(_PROBE_BYTES).split(b"\n")[:-1]:
        moment = parse_time(line.decode("utf-8", "replace"))
        if moment is not None:
            return moment
    return None


def _first_offset_at(
    handle: IO[bytes], size: int, moment: float, parse_time: Callable[[str], float | None]
) -> int:
    """A line-start offset before which every line is earlier than `moment` (bisection)."""
    low, high = 0, size
    while high - low > _PROBE_BYTES:
        middle = (low + high) // 2
        found = _time_after(handle, middle, parse_time)
        if found is None or found >= moment:
            high = middle
        else:
            low = middle
    return _line_start(handle, low)


def window_offsets(path: str, site_log: SiteLog, window: Window) -> tuple[int, int]:
    """The byte range [start, end) of a plain log that holds the window's lines (widened by
    DISORDER_SECONDS, so a line a little out of order is not lost)."""
    size = os.path.getsize(path)

    def parse_time(line: str) -> float | None:
        record = site_log.log_format.parse(line)
        return record.time.timestamp() if record is not None else None

    with open(path, "rb") as handle:
        start = 0
        if window.start is not None:
            start = _first_offset_at(handle, size, window.start - DISORDER_SECONDS, parse_time)
        end = size
        if window.end is not None:
            end = _first_offset_at(handle, size, window.end + DISORDER_SECONDS + 1, parse_time)
            # The probe may stop short of lines in order: read up to the next line start.
            end = min(size, _line_start(handle, end + _PROBE_BYTES))
    return start, max(start, end)


def tally_file(path: Path, site_log: SiteLog, window: Window, workers: int | None = None) -> Tally:
    """The window's tally of one log file (gzip read whole, plain files bisected and, when
    big, read by `workers` processes: default the CPUs)."""
    if path.suffix == ".gz":
        tally = Tally()
        scanner = _Scanner(site_log, window)
        with gzip.open(path, "rb") as handle:
            for block in _blocks(handle, 0, None):  # type: ignore[arg-type]
                scanner.tally(block, tally)
        return tally
    start, end = window_offsets(str(path), site_log, window)
    workers = workers or os.cpu_count() or 1
    if workers < 2 or end - start < PARALLEL_BYTES:
        return _tally_range(str(path), start, end, site_log, window)
    return _parallel_tally(str(path), start, end, site_log, window, workers)


def _parallel_tally(
    path: str, start: int, end: int, site_log: SiteLog, window: Window, workers: int
) -> Tally:
    with open(path, "rb") as handle:
        step = (end - start) // workers
        cuts = [start, *(_line_start(handle, start + step * i) for i in range(1, workers)), end]
    ranges = [(a, b) for a, b in itertools.pairwise(cuts) if b > a]
    total = Tally()
    # fork: the workers inherit the compiled format (its parser is a closure, which cannot
    # be pickled) through this module's global, set before they start.
    global _FORKED
    _FORKED = (site_log, window)
    try:
        with ProcessPoolExecutor(len(ranges), mp_context=get_context("fork")) as pool:
            futures = [pool.submit(_forked_tally_range, path, a, b) for a, b in ranges]
            for future in futures:
                total.merge(future.result())
    finally:
        _FORKED = None
    return total


_FORKED: tuple[SiteLog, Window] | None = None


def _forked_tally_range(path: str, start: int, end: int) -> Tally:
    assert _FORKED is not None, "only run in a worker forked by _parallel_tally"
    return _tally_range(path, start, end, *_FORKED)
