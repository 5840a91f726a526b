"""The fleet lab (`premortem lab up --hosts N`): web hosts in network namespaces behind HAProxy,
reached over SSH by Ansible. See core.py and docs/fleet.md."""

from premortem.ops.lab.fleet.core import Fleet, is_fleet

__all__ = ["Fleet", "is_fleet"]
