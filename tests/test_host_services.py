"""The Host's facts about limits and services: /proc/PID/limits, and how services start."""

from __future__ import annotations

import os
import resource

import psutil
import pytest

from premortem.host import LocalHost, ServiceManager, soft_open_files

PROC_LIMITS = """Limit                     Soft Limit           Hard Limit           Units
Max processes             96365                96365                processes
Max open files            15                   4096                 files
Max locked memory         unlimited            unlimited            bytes
"""


def test_soft_open_files_of_a_proc_limits_text() -> None:
    assert soft_open_files(PROC_LIMITS) == 15
    assert soft_open_files(PROC_LIMITS.replace("15   ", "unlimited")) is None
    assert soft_open_files("") is None


def test_open_file_limit_is_read_where_prlimit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # Root without CAP_SYS_RESOURCE may not prlimit() a www-data worker; /proc/PID/limits
    # is readable all the same. The check must not silently give up.
    def refused(*_args: object) -> None:
        raise psutil.AccessDenied(os.getpid())

    monkeypatch.setattr(psutil.Process, "rlimit", refused)
    use = LocalHost().descriptors(os.getpid())
    assert use is not None
    assert use.soft_limit == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    assert use.open_fds is not None and use.open_fds > 0


def test_descriptor_count_may_be_unknown_while_the_limit_is_known(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refused(*_args: object) -> None:
        raise psutil.AccessDenied(os.getpid())

    monkeypatch.setattr(psutil.Process, "num_fds", refused)
    use = LocalHost().descriptors(os.getpid())
    assert use is not None and use.open_fds is None and use.soft_limit > 0


def test_service_commands_use_what_the_host_has() -> None:
    systemd = ServiceManager(systemd=True, service_tool="/usr/sbin/service")
    assert systemd.command("nginx", "start", "/usr/sbin/nginx") == "systemctl start nginx"
    sysv = ServiceManager(service_tool="/usr/sbin/service", init_scripts=("apache2", "nginx"))
    assert sysv.command("nginx", "reload", "/usr/sbin/nginx -s reload") == "service nginx reload"
    # No init script for it: `service` cannot start it, the program can.
    assert sysv.command("php8.2-fpm", "start", "php-fpm8.2") == "php-fpm8.2"
    bare = ServiceManager(init_scripts=("apache2",))
    assert bare.command("apache2", "start", "apachectl -k start") == "apachectl -k start"


def test_local_host_reports_systemd_only_where_it_runs() -> None:
    manager = LocalHost().service_manager()
    assert manager.systemd == os.path.isdir("/run/systemd/system")
    assert manager.service_tool in ("", "/usr/sbin/service", "/usr/bin/service", "/sbin/service")
    if os.path.isdir("/etc/init.d"):
        assert set(manager.init_scripts) == set(os.listdir("/etc/init.d"))
