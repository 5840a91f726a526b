"""`python -m premortem.ops.packages`: which Debian packages each make target asks for."""

from __future__ import annotations

import pytest

import premortem.ops.packages as packages


def _asked_for(monkeypatch: pytest.MonkeyPatch, *args: str) -> list[str]:
    asked: list[str] = []

    def ensure(wanted: tuple[str, ...] | list[str]) -> list[str]:
        asked.extend(wanted)
        return []

    monkeypatch.setattr(packages, "ensure_packages", ensure)
    assert packages.main(list(args)) == 0
    return asked


def test_unit_set_has_the_test_tools_but_no_database_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = _asked_for(monkeypatch, "--unit")
    # The unit tests run Chromium, Puppet, php -l and strace, and check real PHP applications.
    assert {"chromium", "puppet", "php-cli", "strace", "wordpress", "dokuwiki"} <= set(asked)
    # They start no server, so the lab's database and php-fpm are not theirs to install.
    assert not {"mariadb-server", "php-fpm", "php-mysql"} & set(asked)


def test_tests_set_is_the_lab_and_the_test_tools(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = _asked_for(monkeypatch, "--tests")
    lab = set(packages.LAB_PACKAGES) | set(packages.FLEET_PACKAGES)
    assert set(asked) == lab | set(packages.TEST_PACKAGES)
    # `make deps`: both lab kinds (one host, and the fleet's HAProxy, sshd and ip).
    assert set(_asked_for(monkeypatch)) == lab


def test_unit_and_tests_together_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        packages.main(["--unit", "--tests"])
    assert exited.value.code == 2
    assert "not allowed with" in capsys.readouterr().err


def test_make_test_installs_what_the_unit_tests_need() -> None:
    # `make test` runs the unit tests too, after `--tests`: that set must cover `--unit`.
    missing = set(packages.UNIT_PACKAGES) - set(packages.LAB_PACKAGES) - set(packages.TEST_PACKAGES)
    assert missing == set()
