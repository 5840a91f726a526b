"""The trace collector: strace attached to the web server's workers while a request is replayed.

Two halves:

- :func:`parse_strace` turns ``strace -f -tt`` output into :class:`Syscall` records (merging
  ``<unfinished ...>``/``<... resumed>`` pairs), :func:`requests_in` cuts them into the requests
  each worker served (from ``accept4`` to the next ``accept4``), and :func:`failed_calls`
  separates the calls that failed because of the site from the normal noise;
- :func:`trace_while` attaches strace to given pids, runs a callable (the replay), and always
  detaches: strace is interrupted in a ``finally`` (also on Ctrl-C) and killed if it lingers.

strace runs with ``-s 0`` so read/write/send buffers are never printed (and the redactor
masks them anyway), ``-e signal=none`` and only file, network and process syscalls.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from premortem.errors import PremortemError

T = TypeVar("T")

# Numbers have bounded digits: int() refuses a string of over 4,300 digits.
_LINE_RE = re.compile(r"^(?P<pid>\d{1,10})\s+(?P<time>\d{2}:\d{2}:\d{2}\.\d+)\s+(?P<rest>.*)$")
_CALL_RE = re.compile(r"^(?P<name>[a-z_0-9]+)\((?P<args>.*)$")
_RESUMED_RE = re.compile(r"^<\.\.\. (?P<name>[a-z_0-9]+) resumed>(?P<args>.*)$")
_RESULT_RE = re.compile(
    r"\)\s+=\s+(?P<result>-?\d+|\?|0x[0-9a-f]+)(?:\s+(?P<errno>E[A-Z0-9]+)\s+\((?P<strerror>[^)]*)\))?.*$"
)
_PID_TIME_RE = re.compile(r"^\s*\d+\s+\d{2}:\d{2}:\d{2}\.\d+\s+")
_QUOTED_RE = re.compile(r'"((?:\\.|[^"\\])*)"')
_PORT_RE = re.compile(r"sin6?_port=htons\((\d{1,5})\)")
_SOCK_ERROR_RE = re.compile(r"SO_ERROR, \[(E[A-Z0-9]+)\]")

# Syscalls that only look at a path (a failed one is a probe, often harmless: PHP tries
# several include_path entries before the one that exists).
PROBE_SYSCALLS = frozenset(
    [
        "stat",
        "lstat",
        "newfstatat",
        "fstatat64",
        "statx",
        "access",
        "faccessat",
        "faccessat2",
        "readlink",
        "readlinkat",
        "getxattr",
        "lgetxattr",
        "statfs",
    ]
)
# Syscalls whose first string argument is a path (after the dirfd for the *at variants).
FILE_SYSCALLS = PROBE_SYSCALLS | frozenset(
    [
        "open",
        "openat",
        "openat2",
        "creat",
        "execve",
        "chdir",
        "mkdir",
        "mkdirat",
        "unlink",
        "unlinkat",
        "rename",
        "renameat",
        "renameat2",
        "truncate",
        "utimensat",
        "chmod",
        "fchmodat",
    ]
)


@dataclass(frozen=True)
class Syscall:
    pid: int
    time: str
    name: str
    args: str
    result: str
    errno: str | None = None
    strerror: str | None = None
    raw: str = ""

    @property
    def text(self) -> str:
        """The call as strace printed it, without the pid and timestamp columns."""
        return _PID_TIME_RE.sub("", self.raw, count=1)

    @property
    def failed(self) -> bool:
        return self.errno is not None

    @property
    def path(self) -> str | None:
        if self.name not in FILE_SYSCALLS:
            return None
        match = _QUOTED_RE.search(self.args)
        return _unescape(match.group(1)) if match else None

    @property
    def opens_for_reading(self) -> bool:
        return self.name in ("open", "openat", "openat2") and "O_RDONLY" in self.args

    @property
    def socket_error(self) -> str | None:
        """The error a non-blocking connect ended with (getsockopt SO_ERROR)."""
        if self.name != "getsockopt":
            return None
        match = _SOCK_ERROR_RE.search(self.args)
        return match.group(1) if match else None


@dataclass
class TracedRequest:
    """The syscalls one worker made while serving one accepted connection."""

    pid: int
    client_port: int | None
    calls: list[Syscall] = field(default_factory=list)

    @property
    def from_unix_socket(self) -> bool:
        """Accepted on a unix socket (a FastCGI connection from nginx to php-fpm)."""
        return bool(self.calls) and "sa_family=AF_UNIX" in self.calls[0].args


@dataclass(frozen=True)
class FailedCall:
    call: Syscall
    is_cause: bool
    reason: str


def parse_strace(text: str) -> list[Syscall]:
    """Parse `strace -f -tt` output (with pids); unknown lines are skipped."""
    calls: list[Syscall] = []
    pending: dict[int, tuple[str, str, str]] = {}
    for line in text.splitlines():
        match = _LINE_RE.match(line)
        if match is None:
            continue
        pid = int(match.group("pid"))
        stamp = match.group("time")
        rest = match.group("rest")
        if rest.startswith("+++") or rest.startswith("---"):
            continue
        resumed = _RESUMED_RE.match(rest)
        if resumed:
            name = resumed.group("name")
            start_time, start_args, start_raw = pending.pop(pid, (stamp, "", ""))
            rest = f"{name}({start_args}{resumed.group('args')}"
            stamp = start_time
            line = f"{start_raw} ... {line}" if start_raw else line
        call = _CALL_RE.match(rest)
        if call is None:
            continue
        name, args = call.group("name"), call.group("args")
        if args.endswith("<unfinished ...>"):
            pending[pid] = (stamp, args[: -len("<unfinished ...>")].rstrip(), line)
            continue
        if args.endswith("<detached ...>"):
            continue
        result = _RESULT_RE.search(args)
        if result is None:
            continue
        calls.append(
            Syscall(
                pid=pid,
                time=stamp,
                name=name,
                args=args[: result.start()],
                result=result.group("result"),
                errno=result.group("errno"),
                strerror=result.group("strerror"),
                raw=line,
            )
        )
    return calls


def requests_in(calls: Iterable[Syscall]) -> list[TracedRequest]:
    """Cut each worker's calls into requests: an accept4 that returned, up to the next accept."""
    open_requests: dict[int, TracedRequest] = {}
    done: list[TracedRequest] = []
    for call in calls:
        if call.name in ("accept", "accept4"):
            if call.pid in open_requests:
                done.append(open_requests.pop(call.pid))
            if not call.failed and call.result not in ("?",):
                port_match = _PORT_RE.search(call.args)
                open_requests[call.pid] = TracedRequest(
                    call.pid, int(port_match.group(1)) if port_match else None, [call]
                )
            continue
        if call.pid in open_requests:
            open_requests[call.pid].calls.append(call)
    done.extend(open_requests.values())
    return done


def failed_calls(calls: list[Syscall]) -> list[FailedCall]:
    """Every failed call, marked as a likely cause or as normal noise (with the reason).

    Noise: `.htaccess` lookups, `access()` probes, stat probes of optional files
    (DirectoryIndex candidates, `file_exists`), ENOTDIR path-info lookups, EAGAIN/EINPROGRESS
    on non-blocking sockets. A cause: a file opened for reading that failed (PHP loads a
    script or an include with open(O_RDONLY) after stat-ing it), or an error on a path the
    worker later needed, or a refused/failed connection.
    """
    out: list[FailedCall] = []
    for call in calls:
        sock_error = call.socket_error
        if sock_error and sock_error != "0":
            out.append(FailedCall(call, True, f"connection failed with {sock_error}"))
            continue
        if not call.failed:
            continue
        errno = call.errno or ""
        path = call.path or ""
        name = os.path.basename(path)
        if errno in ("EAGAIN", "EINPROGRESS", "EINTR", "ERESTARTSYS", "ECHILD"):
            out.append(FailedCall(call, False, "non-blocking or interrupted call"))
        elif errno in ("ENOSPC", "EMFILE", "ENFILE", "EDQUOT", "EROFS"):
            out.append(FailedCall(call, True, f"resource error {errno}"))
        elif name in (".htaccess", ".user.ini") and errno in ("ENOENT", "ENOTDIR"):
            out.append(FailedCall(call, False, "AllowOverride lookup of a per-directory file"))
        elif errno == "ENOTDIR":
            out.append(FailedCall(call, False, "path-info lookup below a file"))
        elif call.name in PROBE_SYSCALLS and errno == "ENOENT":
            out.append(FailedCall(call, False, "existence probe of an optional file"))
        elif call.opens_for_reading and "O_CLOEXEC" not in call.args and errno == "ENOENT":
            out.append(FailedCall(call, True, "load of a file that does not exist"))
        elif errno in ("EACCES", "EPERM"):
            out.append(FailedCall(call, True, "permission denied"))
        elif call.name in ("connect",) and errno in ("ECONNREFUSED", "ENOENT", "ETIMEDOUT"):
            out.append(FailedCall(call, True, f"connection failed with {errno}"))
        elif call.opens_for_reading and errno == "ENOENT":
            out.append(FailedCall(call, False, "optional file opened by the server"))
        else:
            out.append(FailedCall(call, False, f"{call.name} failed with {errno}"))
    return out


def strace_available() -> bool:
    return any(
        os.access(os.path.join(d, "strace"), os.X_OK)
        for d in [*os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep), "/usr/bin"]
    )


def trace_while(
    pids: list[int],
    action: Callable[[], T],
    *,
    attach_timeout: float = 2.0,
    max_seconds: float = 10.0,
) -> tuple[T, str, list[int]]:
    """Attach strace to `pids`, run `action`, detach; return (action result, output, traced pids).

    Always detaches: strace gets SIGINT (it detaches cleanly) in a ``finally``, also when the
    action raises or the user presses Ctrl-C, and SIGKILL if it has not gone within 2 s
    (the kernel then detaches the tracees). `max_seconds` bounds strace's own lifetime too.
    """
    if not pids:
        raise PremortemError("no worker processes to trace")
    with tempfile.TemporaryDirectory(prefix="premortem-trace-") as tmp:
        out_path = Path(tmp) / "strace.out"
        cmd = [
            "timeout",
            "--signal=INT",
            f"{max_seconds:.0f}",
            "strace",
            "-f",
            "-tt",
            "-s",
            "0",
            "-qq",
            "-e",
            "trace=file,network,process",
            "-e",
            "signal=none",
            "-o",
            str(out_path),
        ]
        for pid in pids:
            cmd += ["-p", str(pid)]
        # Own session: a Ctrl-C on the terminal reaches us, and we detach strace ourselves.
        proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        with _sigterm_as_interrupt():
            try:
                traced = _wait_attached(proc, pids, attach_timeout)
                result = action()
            finally:
                _stop(proc)
        text = _read_bounded(out_path)
    return result, text, traced


MAX_OUTPUT_BYTES = 32 * 1024 * 1024


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """While tracing, SIGTERM (kill, a service manager) unwinds like Ctrl-C, so the
    ``finally`` that detaches strace runs instead of the process dying on the spot."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _read_bounded(path: Path) -> str:
    """strace's output, at most MAX_OUTPUT_BYTES (a busy server can write a lot in seconds)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_OUTPUT_BYTES).decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def _wait_attached(proc: subprocess.Popen[bytes], pids: list[int], timeout: float) -> list[int]:
    """Wait until every pid that still exists has a tracer; return those traced."""
    deadline = time.monotonic() + timeout
    while True:
        traced: list[int] = []
        pending: list[int] = []
        for pid in pids:
            tracer = _tracer_of(pid)
            if tracer is None:
                continue  # the process is gone (a worker recycled): nothing to wait for
            (traced if tracer != 0 else pending).append(pid)
        if not pending:
            return traced
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
            raise PremortemError(
                f"strace could not attach: {err or 'exit ' + str(proc.returncode)}"
            )
        if time.monotonic() > deadline:
            return traced
        time.sleep(0.01)


def _tracer_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("TracerPid:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return None


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        # strace is the child of `timeout`; signal the whole session so both stop.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=2.0)
    if proc.stderr:
        proc.stderr.close()


# The escapes strace writes in a quoted string: C's, \xNN (-x, -xx) and octal (\NNN).
_STRACE_ESCAPE = re.compile(rb"\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|[ntrvfab\"'\\])")
_C_ESCAPES = {b"n": 10, b"t": 9, b"r": 13, b"v": 11, b"f": 12, b"a": 7, b"b": 8}


def _unescape_one(match: re.Match[bytes]) -> bytes:
    escape = match.group(1)
    if escape[:1] == b"x":
        return bytes([int(escape[1:], 16)])
    if escape[:1].isdigit():
        return bytes([int(escape, 8) & 0xFF])
    return bytes([_C_ESCAPES.get(escape, escape[0])])


def _unescape(value: str) -> str:
    """A string as strace quoted it, as the process saw it (UTF-8, bad bytes replaced). A
    backslash strace would not write stays as it is (unicode_escape warned, and will fail)."""
    if "\\" not in value:
        return value
    raw = _STRACE_ESCAPE.sub(_unescape_one, value.encode("utf-8", errors="surrogateescape"))
    return raw.decode("utf-8", errors="replace")


@dataclass
class TraceEvidence:
    """What the workers did while serving the replayed request."""

    attached_pids: list[int] = field(default_factory=list)
    seconds: float = 0.0
    syscall_count: int = 0
    matched_request: bool = False
    calls: list[Syscall] = field(default_factory=list)
    failed: list[FailedCall] = field(default_factory=list)
    loaded_files: list[str] = field(default_factory=list)
    compared_with_healthy: bool = False

    @property
    def causes(self) -> list[FailedCall]:
        return [f for f in self.failed if f.is_cause]

    def to_dict(self) -> dict[str, object]:
        return {
            "attached_pids": self.attached_pids,
            "seconds": round(self.seconds, 4),
            "syscalls": self.syscall_count,
            "matched_request": self.matched_request,
            "failed": [
                {"call": f.call.raw, "cause": f.is_cause, "reason": f.reason} for f in self.failed
            ][:200],
            "loaded_files": self.loaded_files[-30:],
            "compared_with_healthy": self.compared_with_healthy,
        }


def evidence_from_output(
    text: str, client_port: int | None, healthy_port: int | None = None
) -> TraceEvidence:
    """Keep the calls of the request that came from `client_port` (all requests if unknown).

    `healthy_port`: a request for a healthy page traced in the same session; a call that
    fails there too, on the same path, is normal noise of this server, not the cause.
    """
    calls = parse_strace(text)
    requests = requests_in(calls)
    healthy = [r for r in requests if healthy_port is not None and r.client_port == healthy_port]
    others = [r for r in requests if r not in healthy]
    ours = [r for r in others if client_port is not None and r.client_port == client_port]
    if not ours:
        # php-fpm workers accept FastCGI connections from nginx on a unix socket: no client
        # port to match, and a static healthy request never reaches them. The requests
        # they served during the replay are the replay's (and any concurrent PHP page's).
        ours = [r for r in others if r.from_unix_socket and len(r.calls) > 1]
    chosen = ours or [r for r in others if len(r.calls) > 1]
    selected = [c for r in chosen for c in r.calls]
    loaded: list[str] = []
    for call in selected:
        path = call.path
        if call.opens_for_reading and not call.failed and path and path not in loaded:
            loaded.append(path)
    failed = failed_calls(selected)
    if healthy:
        usual = {
            (f.call.name, f.call.errno, f.call.path)
            for r in healthy
            for f in failed_calls(r.calls)
            if f.call.path
        }
        failed = [
            FailedCall(f.call, False, "fails on a healthy request too")
            if f.is_cause and (f.call.name, f.call.errno, f.call.path) in usual
            else f
            for f in failed
        ]
    return TraceEvidence(
        syscall_count=len(calls),
        matched_request=bool(ours),
        calls=selected,
        failed=failed,
        loaded_files=loaded,
        compared_with_healthy=bool(healthy),
    )
