"""The subcommands: name -> "module:attribute". Each feature adds one entry here.

Modules are imported only when their command runs (or for `--help`), so that a quick
`premortem check` does not pay for importing diagnose, watch and matplotlib.
"""

from __future__ import annotations

COMMANDS: dict[str, str] = {
    "init": "premortem.cli.init:init",
    "adopt": "premortem.cli.adopt:adopt",
    "check": "premortem.cli.check:check",
    "deploy": "premortem.cli.deploy:deploy",
    "rollback": "premortem.cli.deploy:rollback",
    "verify": "premortem.cli.deploy:verify",
    "releases": "premortem.cli.deploy:releases",
    "watch": "premortem.cli.watch:watch",
    "incidents": "premortem.cli.watch:incidents",
    "note": "premortem.cli.watch:note",
    "diagnose": "premortem.cli.diagnose:diagnose_command",
    "fix": "premortem.cli.deploy:fix",
    "report": "premortem.cli.watch:report",
    "impact": "premortem.cli.impact:impact",
    "lab": "premortem.cli.lab:lab",
    "fleet": "premortem.cli.fleet:fleet",
    "demo": "premortem.cli.demo:demo",
}
