"""Errors that the CLI turns into a clear message and exit code 2 (never a traceback)."""


class PremortemError(Exception):
    """The tool could not do its job: bad usage, unusable input, missing privileges.

    The message is shown to the user as is, so it says what is wrong and what to do.
    """

    exit_code = 2
