"""The list of subcommands. Each feature adds one import and one entry here."""

from __future__ import annotations

import click


def all_commands() -> list[click.Command]:
    from premortem.cli.check import check
    from premortem.cli.demo import demo
    from premortem.cli.deploy import deploy, fix, releases, rollback
    from premortem.cli.diagnose import diagnose_command
    from premortem.cli.lab import lab
    from premortem.cli.watch import incidents, note, report, watch

    return [
        lab,
        check,
        watch,
        incidents,
        note,
        report,
        diagnose_command,
        deploy,
        rollback,
        releases,
        fix,
        demo,
    ]
