"""LocalHost.listening: a scan that fails once (a process ending while psutil reads its
descriptors) is asked again, not taken for "nothing listens"."""

from __future__ import annotations

import socket
from typing import Any

import psutil
import pytest

from premortem import host as host_module
from premortem.host import LocalHost


def test_a_scan_that_fails_once_is_asked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    real = psutil.net_connections
    calls: list[int] = []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise psutil.NoSuchProcess(12345)
        return real(*args, **kwargs)

    monkeypatch.setattr(psutil, "net_connections", flaky)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        found = LocalHost().listening()
    assert len(calls) == 2
    assert any(s.port == port for s in found)


def test_a_scan_that_keeps_failing_finds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "denied")

    monkeypatch.setattr(psutil, "net_connections", failing)
    monkeypatch.setattr(host_module.time, "sleep", lambda seconds: None)
    assert LocalHost().listening() == []
