"""The fleet lab's load balancer: Debian's HAProxy with its own config and process (never the
system's haproxy service), on 127.0.0.1:PORT in front of the web hosts.

Its health check asks each host for a static file (`/readme.html`): it sees the web server,
not PHP, as most load balancers' checks do, so a release whose PHP fails stays in rotation
and answers 500 to its share of the traffic (the partial outage of issue #13). Rollouts
watch HAProxy's per-server 5xx counters for that, through the runtime API socket.

Its log (`option httplog`, one line per request naming the server that answered) goes to
`DIR/haproxy/haproxy.log` without the system's syslog: HAProxy runs in master-worker mode in
the foreground (`-W -db`, started in the background by a shell, in a session of its own)
with `log stdout format raw`, its stdout appended to that file (its own notices go to
`haproxy.err`). `premortem watch` follows that file (access_log_format `haproxy`).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from premortem.errors import PremortemError
from premortem.ops.lab.procs import launch_listening, running_pid, terminate

HAPROXY = "/usr/sbin/haproxy"
BACKEND = "web"
HEALTH_PATH = "/readme.html"


@dataclass(frozen=True)
class Backend:
    name: str
    address: str
    port: int


def render_haproxy_cfg(
    port: int, backends: list[Backend], pid_file: Path, socket_path: Path
) -> str:
    """The lab's haproxy.cfg: master-worker in the foreground (see `start`), logging
    `option httplog` lines to stdout."""
    servers = "\n".join(f"    server {b.name} {b.address}:{b.port}" for b in backends)
    return f"""# Written by `premortem lab up --hosts`: the fleet lab's own HAProxy.
global
    pidfile {pid_file}
    # One httplog line per request on stdout, which `start` appends to haproxy.log.
    log stdout format raw local0
    # The runtime API: drain/ready a server, read its counters (`show stat`).
    stats socket {socket_path} mode 600 level admin
    maxconn 1024

defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    # A connection a host refuses (e.g. during a restart) is tried once more elsewhere.
    retries 2
    option redispatch

frontend www
    bind 127.0.0.1:{port}
    default_backend {BACKEND}

backend {BACKEND}
    balance roundrobin
    option httpchk GET {HEALTH_PATH}
    http-check expect status 200
    # A check may take 3 s and a host is DOWN after 3 failed in a row: with the default
    # (`inter`, 1 s, for the whole check) a loaded 2-CPU machine (CI beside 8 clients)
    # took a healthy canary DOWN, and the rollout stopped on it. A stopped host is still
    # DOWN within 3 s (its refusals are immediate).
    timeout check 3s
    default-server check inter 1s fall 3 rise 2
{servers}
"""


def pid(pid_file: Path) -> int | None:
    return running_pid(pid_file, ("haproxy",))


def start(config: Path, pid_file: Path, port: int, log_file: Path | None = None) -> int:
    """Check the config, start HAProxy in the background (master-worker, its stdout, the
    request log, appended to `log_file`: default haproxy.log beside the config); the
    master's PID once it listens."""
    running = pid(pid_file)
    if running is not None:
        return running
    test = subprocess.run(
        [HAPROXY, "-c", "-q", "-f", str(config)], capture_output=True, text=True, check=False
    )
    if test.returncode != 0:
        raise PremortemError(f"haproxy refuses {config}: {(test.stdout + test.stderr).strip()}")
    log_file = log_file or config.with_name("haproxy.log")
    # The shell starts HAProxy in the background and returns: HAProxy keeps the files.
    script = 'exec "$1" -W -db -f "$2" >>"$3" 2>>"$4" </dev/null &'
    shell = shutil.which("sh") or "/bin/sh"
    err_file = log_file.with_suffix(".err")
    command = [shell, "-c", script, "sh", HAPROXY, str(config), str(log_file), str(err_file)]
    return launch_listening(
        "haproxy", command, ("127.0.0.1", port), lambda: pid(pid_file), pid_file
    )


def stop(pid_file: Path) -> None:
    running = pid(pid_file)
    if running is not None:
        terminate(running, timeout=10)
