"""The fault scenarios of the lab: one module per scenario, listed in `premortem.registry`."""

from __future__ import annotations

from premortem import registry
from premortem.errors import UsageError
from premortem.ops.lab.scenarios.base import Expected, Scenario

__all__ = ["Expected", "Scenario", "all_scenarios", "get_scenario"]


def all_scenarios(server: str | None = None) -> list[Scenario]:
    """Every scenario, or those that apply to a lab of the server flavour given."""
    found = [cls() for cls in registry.scenarios() if server is None or server in cls.servers]
    return sorted(found, key=lambda s: (s.order, s.code))


def get_scenario(name: str) -> Scenario:
    scenarios = {s.code: s for s in all_scenarios()}
    if name not in scenarios:
        raise UsageError(
            f"unknown scenario {name!r}; known: {', '.join(scenarios)} (see `lab break --list`)"
        )
    return scenarios[name]
