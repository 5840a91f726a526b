"""The registry of fault scenarios: one module per scenario in this package.

A module defines one Scenario subclass and exposes an instance as SCENARIO; adding a
scenario means adding a module, nothing else.
"""

from __future__ import annotations

import importlib
import pkgutil

from premortem.errors import PremortemError
from premortem.ops.lab.scenarios.base import Expected, Scenario

__all__ = ["Expected", "Scenario", "all_scenarios", "get_scenario"]


def all_scenarios(server: str | None = None) -> list[Scenario]:
    """Every scenario, or those that apply to a lab of the server flavour given."""
    found: list[Scenario] = []
    for module_info in pkgutil.iter_modules(__path__):
        if module_info.name == "base" or module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        scenario = getattr(module, "SCENARIO", None)
        if isinstance(scenario, Scenario) and (server is None or server in scenario.servers):
            found.append(scenario)
    return sorted(found, key=lambda s: (s.order, s.name))


def get_scenario(name: str) -> Scenario:
    scenarios = {s.name: s for s in all_scenarios()}
    if name not in scenarios:
        raise PremortemError(
            f"unknown scenario {name!r}; known: {', '.join(scenarios)} (see `lab break --list`)"
        )
    return scenarios[name]
