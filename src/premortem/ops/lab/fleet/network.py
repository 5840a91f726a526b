"""The fleet lab's network: one bridge, one network namespace per web host, veth pairs.

Every name carries the fleet's id (from its directory), so two fleets never share a link and
`destroy` removes exactly what `up` made. The subnet is a private /24 that no interface or
route of this machine already uses; nothing routes it anywhere (no forwarding, no NAT, no
default route in the namespaces): traffic stays between the bridge and the hosts.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from premortem.errors import PremortemError
from premortem.ops.lab.procs import wait_gone

IP = "/usr/sbin/ip"
# The hosts' addresses: .11, .12, ... (the bridge, where MariaDB and HAProxy's checks come
# from, is .1).
FIRST_HOST_OCTET = 11
# Where the candidate /24s are taken from (RFC 1918; 10.200-249.x.0/24, rarely used).
CANDIDATE_SECOND_OCTETS = range(200, 250)


def fleet_id(fleet_dir: Path) -> str:
    """Six hex digits from the fleet's directory: short enough for 15-character link names."""
    return hashlib.sha256(str(fleet_dir).encode()).hexdigest()[:6]


def host_name(index: int) -> str:
    """web-01, web-02, ... (index from 1)."""
    return f"web-{index:02d}"


@dataclass(frozen=True)
class HostLink:
    """One web host's place on the network."""

    name: str
    namespace: str
    veth: str  # the bridge side, in the root namespace
    address: str


@dataclass(frozen=True)
class FleetNetwork:
    id: str
    subnet: str  # e.g. "10.213.7.0/24"

    @property
    def bridge(self) -> str:
        return f"pmf{self.id}br"

    @property
    def bridge_address(self) -> str:
        return str(ipaddress.IPv4Network(self.subnet).network_address + 1)

    def host(self, index: int) -> HostLink:
        network = ipaddress.IPv4Network(self.subnet)
        return HostLink(
            name=host_name(index),
            namespace=f"premortem-{self.id}-{host_name(index)}",
            veth=f"pmf{self.id}h{index:02d}",
            address=str(network.network_address + FIRST_HOST_OCTET - 1 + index),
        )


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([IP, *args], capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise PremortemError(f"ip {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc


def used_networks() -> list[ipaddress.IPv4Network]:
    """The IPv4 networks this machine's interfaces and routes (every table) already use."""
    used: list[ipaddress.IPv4Network] = []
    for entry in json.loads(_ip("-j", "-4", "addr", "show").stdout or "[]"):
        for info in entry.get("addr_info", []):
            used.append(ipaddress.IPv4Network(f"{info['local']}/{info['prefixlen']}", strict=False))
    for route in json.loads(_ip("-j", "-4", "route", "show", "table", "all").stdout or "[]"):
        dst = route.get("dst", "")
        if dst and dst != "default":
            used.append(ipaddress.IPv4Network(dst if "/" in dst else f"{dst}/32", strict=False))
    return used


def pick_subnet(seed: str, used: list[ipaddress.IPv4Network]) -> str:
    """A private /24 that overlaps none of used, starting from one derived from seed."""
    start = int(seed, 16)
    count = len(CANDIDATE_SECOND_OCTETS) * 256
    for step in range(count):
        n = (start + step) % count
        second = CANDIDATE_SECOND_OCTETS[n // 256]
        candidate = ipaddress.IPv4Network(f"10.{second}.{n % 256}.0/24")
        if not any(candidate.overlaps(net) for net in used):
            return str(candidate)
    raise PremortemError("no free private /24 in 10.200.0.0-10.249.255.0 for the fleet lab")


def namespaces() -> set[str]:
    proc = _ip("netns", "list", check=False)
    return {line.split()[0] for line in proc.stdout.splitlines() if line.strip()}


def link_exists(name: str) -> bool:
    return _ip("link", "show", "dev", name, check=False).returncode == 0


def create_bridge(net: FleetNetwork) -> None:
    if not link_exists(net.bridge):
        _ip("link", "add", net.bridge, "type", "bridge")
        _ip("addr", "add", f"{net.bridge_address}/24", "dev", net.bridge)
    _ip("link", "set", net.bridge, "up")


def create_host(net: FleetNetwork, index: int) -> HostLink:
    """The host's namespace, its veth pair on the bridge, its address; loopback up."""
    link = net.host(index)
    if link.namespace not in namespaces():
        _ip("netns", "add", link.namespace)
    if not link_exists(link.veth):
        peer = ("peer", "name", "eth0", "netns", link.namespace)
        _ip("link", "add", link.veth, "type", "veth", *peer)
        _ip("-n", link.namespace, "addr", "add", f"{link.address}/24", "dev", "eth0")
    _ip("link", "set", link.veth, "master", net.bridge, "up")
    _ip("-n", link.namespace, "link", "set", "eth0", "up")
    _ip("-n", link.namespace, "link", "set", "lo", "up")
    return link


def namespace_pids(namespace: str) -> list[int]:
    """Every process inside the namespace (what the lab and its users started there)."""
    proc = _ip("netns", "pids", namespace, check=False)
    return [int(pid) for pid in proc.stdout.split() if pid.isdigit()]


def stop_namespace_processes(namespace: str, timeout: float = 5.0) -> None:
    """SIGTERM every process left in the namespace together, SIGKILL what outlives timeout."""
    pids = namespace_pids(namespace)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    for pid in wait_gone(pids, timeout):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def remove_host(link: HostLink) -> None:
    """Remove the veth pair (deleting one end removes both) and the namespace."""
    if link_exists(link.veth):
        _ip("link", "del", link.veth)
    if link.namespace in namespaces():
        _ip("netns", "del", link.namespace)


def remove_bridge(net: FleetNetwork) -> None:
    if link_exists(net.bridge):
        _ip("link", "del", net.bridge)


def in_namespace(namespace: str, command: list[str]) -> list[str]:
    """command, run inside the namespace."""
    return [IP, "netns", "exec", namespace, *command]
