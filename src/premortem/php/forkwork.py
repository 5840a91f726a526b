"""Share a list of independent jobs between this process and forked copies of it.

Parsing a tree's PHP files is CPU-bound work in C that holds the GIL, so it is spread
over processes. A process pool costs more than the work needs: a management thread and
a queue feeder in the parent (about 5 % of the parse's CPU on WordPress, taken from the
cores the workers need), the jobs pickled to the workers, and a parent that only waits.
Here the children are forked copies that already hold the jobs and the loaded parser;
the parent works too; the next job is taken from a pipe holding every job's number
(4-byte reads from a pipe are atomic, so each job is taken exactly once and a process
that is done early simply takes more); each child sends its pickled results once, when
the pipe is empty. A child that dies (a crash in the C parser, the OOM killer) is
detected when its result pipe closes without a result: an error, never a hang.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import struct
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

Job = TypeVar("Job")
Result = TypeVar("Result")

_NUMBER = struct.Struct("=I")
# Job numbers are written to the pipe before any process reads, so they must fit its
# buffer (64 KiB on Linux): beyond this many jobs, consecutive jobs are grouped.
MAX_TASKS = 8192


class WorkerDied(Exception):
    """A forked worker ended without sending its results."""


def map_forked(
    function: Callable[[Job], Result],
    jobs: Sequence[Job],
    processes: int,
    finish: Callable[[], None] | None = None,
) -> list[Result]:
    """[function(job) for job in jobs], computed by `processes` processes (this one included).

    Jobs are taken in order: put the longest first. `function` must not raise for a job
    (return the failure instead); an exception in the parent's share propagates after the
    children are stopped, one in a child's share raises WorkerDied. `finish` runs in each
    child when its share is done (to stop what `function` started there).
    """
    if processes <= 1 or len(jobs) <= 1:
        return [function(job) for job in jobs]
    group = -(-len(jobs) // MAX_TASKS)
    tasks = [(start, min(start + group, len(jobs))) for start in range(0, len(jobs), group)]
    task_read, task_write = os.pipe()
    try:
        _write_all(task_write, b"".join(_NUMBER.pack(i) for i in range(len(tasks))))
    finally:
        os.close(task_write)
    results: list[Result | None] = [None] * len(jobs)
    children: dict[int, int] = {}  # pid -> read end of its result pipe
    try:
        for _ in range(min(processes, len(tasks)) - 1):
            result_read, result_write = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: never returns into the caller's code
                os.close(result_read)
                _child(function, jobs, tasks, task_read, result_write, finish)
            os.close(result_write)
            children[pid] = result_read
        for index, value in _work(function, jobs, tasks, task_read):
            results[index] = value
        for pid in list(children):
            data = _read_all(children[pid])
            os.close(children.pop(pid))
            done = _loads(data)  # while the child's memory is being freed
            try:
                status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
            except ChildProcessError:  # reaped by someone else's os.wait(): results decide
                status = 0
            if done is None or status != 0:
                raise WorkerDied(f"worker {pid} ended with status {status} without its results")
            for index, value in done:
                results[index] = value
    finally:
        os.close(task_read)
        for pid, fd in children.items():
            os.close(fd)
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
    return results  # type: ignore[return-value]  # every index was filled above


def _work(
    function: Callable[[Job], Result],
    jobs: Sequence[Job],
    tasks: list[tuple[int, int]],
    task_read: int,
) -> Iterator[tuple[int, Result]]:
    while True:
        number = os.read(task_read, _NUMBER.size)
        if not number:
            return  # the pipe is empty and its write end closed: all jobs are taken
        while len(number) < _NUMBER.size:  # cannot happen with Linux pipes; be exact anyway
            number += os.read(task_read, _NUMBER.size - len(number))
        start, end = tasks[_NUMBER.unpack(number)[0]]
        for index in range(start, end):
            yield index, function(jobs[index])


def _child(
    function: Callable[[Job], Result],
    jobs: Sequence[Job],
    tasks: list[tuple[int, int]],
    task_read: int,
    result_write: int,
    finish: Callable[[], None] | None,
) -> None:
    code = 1
    try:
        # Ctrl-C reaches the whole process group: the parent stops its children itself.
        with contextlib.suppress(ValueError):  # not the main thread: keep the default
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        done = list(_work(function, jobs, tasks, task_read))
        _write_all(result_write, pickle.dumps(done, protocol=pickle.HIGHEST_PROTOCOL))
        # Closed now, not by _exit after the memory is torn down: the parent reads EOF
        # and goes on while this process is still being freed.
        os.close(result_write)
        code = 0
        if finish is not None:
            finish()  # after the results: the parent reads them meanwhile
    except BaseException:
        pass  # the parent reports a child that sent no results
    finally:
        # Never run the parent's cleanup (atexit, finally blocks up the stack) here.
        os._exit(code)


def _loads(data: bytes) -> list[tuple[int, Any]] | None:
    """A child's results; None if it sent none or died while sending them."""
    if not data:
        return None
    try:
        done = pickle.loads(data)
    except Exception:
        return None
    return done if isinstance(done, list) else None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)
