"""The fleet lab's Ansible inventory (INI): one group `web` with the hosts, and the variables
premortem's playbooks read (documented in docs/fleet.md; an existing inventory sets the same).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class InventoryHost:
    name: str
    address: str
    premortem_config: Path  # the host's premortem.toml (its site)


@dataclass(frozen=True)
class InventoryVars:
    private_key: Path
    known_hosts: Path
    premortem_bin: str
    haproxy_socket: Path
    haproxy_backend: str
    lb_url: str


def render_inventory(hosts: list[InventoryHost], v: InventoryVars) -> str:
    lines = [
        "# Written by `premortem lab up --hosts`: the fleet lab's web hosts, each a network",
        "# namespace with its own sshd. `ansible all -i THIS -m ping` reaches them over SSH.",
        "[web]",
        *(
            f"{h.name} ansible_host={h.address} premortem_config={h.premortem_config}"
            for h in hosts
        ),
        "",
        "[web:vars]",
        "ansible_user=root",
        "ansible_port=22",
        f"ansible_ssh_private_key_file={v.private_key}",
        "ansible_ssh_common_args=" + shlex.quote(f"-o UserKnownHostsFile={v.known_hosts}"),
        "ansible_python_interpreter=/usr/bin/python3",
        f"premortem_bin={v.premortem_bin}",
        f"haproxy_socket={v.haproxy_socket}",
        f"haproxy_backend={v.haproxy_backend}",
        f"lb_url={v.lb_url}",
        "",
    ]
    return "\n".join(lines)
