"""Exit statuses and the errors the CLI turns into one clear line (never a traceback).

- `UsageError`, `InputError`: the user's command or input cannot be used (exit 2).
- `InternalError`: premortem itself is wrong (a bug); said as such (exit 2).
- Any other exception reaching `main()` is an internal error too.
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """What every premortem command exits with."""

    OK = 0  # nothing wrong (at or above the failing severity)
    PROBLEMS = 1  # problems found
    ERROR = 2  # premortem could not do its job


class PremortemError(Exception):
    """The tool could not do its job: bad usage, unusable input, missing privileges.

    The message is shown to the user as is, so it says what is wrong and what to do.
    """

    exit_code = ExitStatus.ERROR


class UsageError(PremortemError):
    """The command line asks for something that cannot be done (a wrong flag or name)."""


class InputError(PremortemError):
    """An input (file, config, URL, site) is missing, unreadable or malformed."""


class InternalError(PremortemError):
    """premortem broke one of its own rules: a bug to report, not the user's fault."""
