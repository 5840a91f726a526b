"""What the watch runs when an incident opens: a diagnosis of the site, in its own process.

The diagnosis (`premortem diagnose --format json`) runs as a child process in a session of
its own, not in a thread of the watch: it attaches strace, signals its helpers and can take
seconds, and a child can be killed when it overruns its time, which a thread cannot. Whatever
it does, the watch goes on watching. Its JSON (findings ranked, [0] the root cause, secrets
already redacted by diagnose) is what gets stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

DiagnoseHook = Callable[[], Awaitable[dict[str, Any]]]


class DiagnosisFailed(Exception):
    """The diagnosis could not produce a result (exit 2, bad output, killed)."""


def diagnose_command(url: str, config_path: Path | None) -> list[str]:
    command = [sys.executable, "-m", "premortem", "diagnose", url, "--format", "json"]
    if config_path is not None:
        command += ["--config", str(config_path)]
    return command


def subprocess_diagnosis(command: list[str], timeout: float) -> DiagnoseHook:
    """A hook that runs `command` and returns its JSON output; killed after `timeout`."""

    async def run() -> dict[str, Any]:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        try:
            stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
        except (TimeoutError, asyncio.CancelledError):
            # SIGINT first: diagnose detaches strace in its `finally`; then make sure.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), 3)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
            raise
        if process.returncode not in (0, 1):
            last = stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
            raise DiagnosisFailed(f"diagnose exited {process.returncode}: {last[0]}")
        try:
            result = json.loads(stdout)
        except json.JSONDecodeError as exc:
            raise DiagnosisFailed(f"diagnose printed no JSON ({exc})") from None
        if not isinstance(result, dict):
            raise DiagnosisFailed("diagnose printed JSON that is not an object")
        return result

    return run
