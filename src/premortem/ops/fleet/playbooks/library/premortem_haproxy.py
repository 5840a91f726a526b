"""premortem_haproxy: one backend server in HAProxy, through its runtime API (stats socket).

An Ansible module (shipped with premortem's playbooks, standard library only, so it runs on
any load balancer with Python 3) and the Python client premortem itself uses.

    - premortem_haproxy: socket=/run/haproxy/admin.sock backend=web server=web-01 state=drain
    - premortem_haproxy: socket=... backend=web server=web-01 state=ready
    - premortem_haproxy: socket=... backend=web server=web-01 state=watch watch_seconds=10
                         max_error_rate=0.05

drain: no new requests go to the server; waits until its sessions are gone.
ready: back in rotation; waits until its health check says UP.
watch: the server's 5xx answers (and failed connections/responses) as HAProxy counts them
over the window; fails when their share of its answers is above max_error_rate (from
min_requests answers on) or when the server goes DOWN.
"""

from __future__ import annotations

import csv
import socket
import time
from dataclasses import dataclass
from typing import Any

DOCUMENTATION = r"""
module: premortem_haproxy
short_description: drain, ready or watch one HAProxy server through the runtime API
options:
  socket: {description: HAProxy's stats socket (admin level), required: true, type: path}
  backend: {description: the backend, required: true, type: str}
  server: {description: the server's name in the backend, required: true, type: str}
  state: {description: drain, ready or watch, required: true, type: str}
  timeout: {description: seconds to wait for drain or ready, default: 30, type: float}
  watch_seconds: {description: the watch window, default: 10, type: float}
  max_error_rate: {description: the highest share of failed answers, default: 0.05, type: float}
  min_requests: {description: answers needed before the rate counts, default: 5, type: int}
"""


class RuntimeError_(Exception):
    """HAProxy's runtime API refused a command or could not be reached."""


def runtime_command(socket_path: str, command: str, timeout: float = 5.0) -> str:
    """Send one command to HAProxy's runtime API; its whole answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(socket_path)
            sock.sendall(command.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except OSError as exc:
            raise RuntimeError_(f"HAProxy's runtime API at {socket_path}: {exc}") from exc
    return b"".join(chunks).decode(errors="replace")


@dataclass(frozen=True)
class ServerStats:
    """One server's line of `show stat`."""

    backend: str
    server: str
    status: str  # UP, DOWN, DRAIN, MAINT, "UP 1/2"...
    sessions: int  # current
    responses: int  # every HTTP answer the server gave
    errors: int  # 5xx answers plus failed connections and responses

    @classmethod
    def from_row(cls, row: dict[str, str]) -> ServerStats:
        def number(key: str) -> int:
            value = row.get(key, "")
            return int(value) if value.isdigit() else 0

        codes = ("hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other")
        return cls(
            backend=row["pxname"],
            server=row["svname"],
            status=row.get("status", ""),
            sessions=number("scur"),
            responses=sum(number(key) for key in codes),
            errors=number("hrsp_5xx") + number("econ") + number("eresp"),
        )


def parse_stats(csv_text: str) -> list[ServerStats]:
    """The server lines (not FRONTEND/BACKEND) of `show stat` CSV."""
    lines = csv_text.lstrip("# ").splitlines()
    rows = csv.DictReader(line for line in lines if line.strip())
    return [
        ServerStats.from_row(row)
        for row in rows
        if row.get("svname") not in (None, "FRONTEND", "BACKEND")
    ]


def server_stats(socket_path: str, backend: str, server: str) -> ServerStats:
    for stats in parse_stats(runtime_command(socket_path, "show stat")):
        if stats.backend == backend and stats.server == server:
            return stats
    raise RuntimeError_(f"HAProxy has no server {backend}/{server}")


def set_state(socket_path: str, backend: str, server: str, state: str) -> None:
    """`set server B/S state ready|drain|maint`; HAProxy answers nothing when it worked."""
    answer = runtime_command(socket_path, f"set server {backend}/{server} state {state}").strip()
    if answer:
        raise RuntimeError_(f"set server {backend}/{server} state {state}: {answer}")


def drain(socket_path: str, backend: str, server: str, timeout: float = 30.0) -> ServerStats:
    """Stop sending the server new requests; wait until it has no session left."""
    set_state(socket_path, backend, server, "drain")
    deadline = time.monotonic() + timeout
    while True:
        stats = server_stats(socket_path, backend, server)
        if stats.sessions == 0:
            return stats
        if time.monotonic() > deadline:
            raise RuntimeError_(f"{server} still has {stats.sessions} sessions after {timeout}s")
        time.sleep(0.1)


def ready(socket_path: str, backend: str, server: str, timeout: float = 30.0) -> ServerStats:
    """Put the server back in rotation; wait until its health check says UP."""
    set_state(socket_path, backend, server, "ready")
    deadline = time.monotonic() + timeout
    while True:
        stats = server_stats(socket_path, backend, server)
        if stats.status.startswith("UP") and "going" not in stats.status:
            return stats
        if time.monotonic() > deadline:
            raise RuntimeError_(f"{server} is {stats.status} {timeout}s after `state ready`")
        time.sleep(0.1)


@dataclass(frozen=True)
class WatchResult:
    server: str
    seconds: float
    responses: int
    errors: int
    status: str
    failed: str  # why the watch failed; "" when it passed

    def to_dict(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "seconds": round(self.seconds, 2),
            "responses": self.responses,
            "errors": self.errors,
            "status": self.status,
            "failed": self.failed,
        }


def watch(
    socket_path: str,
    backend: str,
    server: str,
    seconds: float = 10.0,
    max_error_rate: float = 0.05,
    min_requests: int = 5,
) -> WatchResult:
    """Watch the server's answers for `seconds`; stop at the first sign it fails."""
    started = time.monotonic()
    first = server_stats(socket_path, backend, server)
    current = first
    failed = ""
    while time.monotonic() - started < seconds:
        time.sleep(0.25)
        current = server_stats(socket_path, backend, server)
        responses = current.responses - first.responses
        errors = current.errors - first.errors
        if current.status.startswith(("DOWN", "MAINT")):
            failed = f"HAProxy's health check says {current.status}"
        elif responses >= min_requests and errors > max_error_rate * responses:
            failed = f"{errors} of {responses} answers failed (above {max_error_rate:.0%})"
        if failed:
            break
    return WatchResult(
        server=server,
        seconds=time.monotonic() - started,
        responses=current.responses - first.responses,
        errors=current.errors - first.errors,
        status=current.status,
        failed=failed,
    )


def main() -> None:
    from ansible.module_utils.basic import AnsibleModule

    module = AnsibleModule(
        argument_spec={
            "socket": {"type": "path", "required": True},
            "backend": {"type": "str", "required": True},
            "server": {"type": "str", "required": True},
            "state": {"type": "str", "required": True, "choices": ["drain", "ready", "watch"]},
            "timeout": {"type": "float", "default": 30.0},
            "watch_seconds": {"type": "float", "default": 10.0},
            "max_error_rate": {"type": "float", "default": 0.05},
            "min_requests": {"type": "int", "default": 5},
        }
    )
    p = module.params
    try:
        if p["state"] == "watch":
            result = watch(
                p["socket"],
                p["backend"],
                p["server"],
                p["watch_seconds"],
                p["max_error_rate"],
                p["min_requests"],
            )
            if result.failed:
                module.fail_json(msg=f"{p['server']}: {result.failed}", watch=result.to_dict())
            module.exit_json(changed=False, watch=result.to_dict())
        act = drain if p["state"] == "drain" else ready
        stats = act(p["socket"], p["backend"], p["server"], p["timeout"])
        module.exit_json(changed=True, status=stats.status)
    except RuntimeError_ as exc:
        module.fail_json(msg=str(exc))


if __name__ == "__main__":
    main()
