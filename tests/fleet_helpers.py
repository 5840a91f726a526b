"""A fleet lab for tests (3 hosts in network namespaces behind HAProxy, in a fresh dir under
/tmp on a free port), and loopback traffic through its balancer."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from premortem.ops.lab.fleet import Fleet
from premortem.ops.lab.fleet.network import namespaces
from premortem.ops.lab.procs import free_port

VENV_BIN = Path(sys.executable).parent


@contextmanager
def fleet_lab(hosts: int = 3, server: str | None = None) -> Iterator[Fleet]:
    base = Path(tempfile.mkdtemp(prefix="premortem-fleet-test-", dir="/tmp"))
    os.chmod(base, 0o755)
    fleet = Fleet(base / "fleet", progress=lambda message: print(message, file=sys.stderr))
    try:
        fleet.up(hosts=hosts, port=free_port(), server=server)
        yield fleet
    finally:
        try:
            fleet.destroy()
        finally:
            subprocess.run(["rm", "-rf", str(base)], check=False)


def leftovers(fleet_id: str, fleet_dir: Path) -> list[str]:
    """Namespaces, links and processes (by their command line) of a fleet still there."""
    found = [name for name in namespaces() if fleet_id in name]
    links = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True, check=True)
    found += [line.split()[0] for line in links.stdout.splitlines() if f"pmf{fleet_id}" in line]
    ps = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True, check=True)
    found += [line for line in ps.stdout.splitlines() if str(fleet_dir) in line]
    return found


@dataclass
class Traffic:
    """Requests sent to the balancer by loopback clients, and what they got."""

    statuses: Counter[str] = field(default_factory=Counter)

    @property
    def sent(self) -> int:
        return sum(self.statuses.values())

    @property
    def failed(self) -> int:
        return sum(n for status, n in self.statuses.items() if not status.startswith(("2", "3")))


def get_many(url: str, count: int) -> Traffic:
    traffic = Traffic()
    with httpx.Client(trust_env=False, timeout=10) as client:
        for _ in range(count):
            traffic.statuses[str(client.get(url).status_code)] += 1
    return traffic


@contextmanager
def clients(url: str, count: int = 8) -> Iterator[Traffic]:
    """count clients requesting url in a loop (new connections) until the block ends."""
    traffic = Traffic()
    stop = threading.Event()
    lock = threading.Lock()

    def client() -> None:
        while not stop.is_set():
            try:
                with httpx.Client(trust_env=False, timeout=10) as http:
                    status = str(http.get(url).status_code)
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            with lock:
                traffic.statuses[status] += 1

    threads = [threading.Thread(target=client, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    try:
        yield traffic
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
