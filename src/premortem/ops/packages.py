"""Install Debian packages that are missing, with one apt-get call.

Used by `premortem lab up` (LAB_PACKAGES) and by the Makefile: `make demo` installs the
lab's packages, `make test` also the tools the tests use (TEST_PACKAGES), and
`make test-unit` only what the unit tests run or read (UNIT_PACKAGES), through
`python -m premortem.ops.packages [--tests | --unit | --bench]` (`--bench`: the peers
`make bench-logs` runs).
"""

from __future__ import annotations

import os
import shutil
import subprocess

from premortem.errors import PremortemError

# What the lab, the tests and the demo need from Debian. php-cli gives `php -l` (the peer
# that `check` is measured against and its syntax confirmation).
LAB_PACKAGES: tuple[str, ...] = (
    "apache2",
    "libapache2-mod-php",
    "php-cli",
    "php-mysql",
    "mariadb-server",
    "mariadb-client",
    "wordpress",
    # Debian's wordpress ships no theme: without one, GET / answers an empty 200.
    "wordpress-theme-twentytwentyone",
    "strace",
    "curl",
    # The lab's nginx flavour (`lab up --server nginx`): its own nginx and php-fpm.
    "nginx",
    "php-fpm",
)

# The fleet lab (`lab up --hosts N`): HAProxy in front, one sshd per host (network namespaces
# made with iproute2's `ip`); each its own process, never the system's service.
FLEET_PACKAGES: tuple[str, ...] = ("haproxy", "openssh-server", "openssh-client", "iproute2")

# Only the test suite needs these; `lab up` on a production-like host does not.
TEST_PACKAGES: tuple[str, ...] = (
    # Headless browser in which the HTML postmortem (`premortem report --format html`) is
    # rendered and screenshotted by its tests.
    "chromium",
    # Real PHP applications that `check`'s tests must pass without an error (small ones).
    "adminer",
    "dokuwiki",
    # ... and a wider set, none of which asks for a database on install (#18).
    "phpldapadmin",
    "simplesamlphp",
    "zabbix-frontend-php",
    "ldap-account-manager",
    "nagvis",
    # `fix --export puppet`'s test applies the manifest with a real `puppet apply` (twice).
    "puppet",
    # promtool / amtool validate the shipped contrib/ files; a real Prometheus scrapes a
    # real watch in its test.
    "prometheus",
    "prometheus-alertmanager",
    # Debian's own logrotate config for apache2 is run against a watched site.
    "logrotate",
)


# The peers the benchmarks run in the same run (`make bench-logs`: GoAccess).
BENCH_PACKAGES: tuple[str, ...] = ("goaccess",)


# What the unit tests (`pytest -m "not lab"`) run or read; they start no server. Server
# packages only for their binaries' config tests and module lists (`apache2 -t`, `apache2 -M`,
# `nginx -t`) and Debian's /etc/apache2; PHP for `php -l`; WordPress (with the theme the lab
# serves), DokuWiki and Adminer as real trees for `check`; strace for a real attach.
UNIT_PACKAGES: tuple[str, ...] = (
    "apache2",
    "libapache2-mod-php",
    "nginx",
    "php-cli",
    "wordpress",
    "wordpress-theme-twentytwentyone",
    "strace",
    *TEST_PACKAGES,
)


def missing_packages(packages: tuple[str, ...] | list[str]) -> list[str]:
    """Packages that dpkg does not report as installed."""
    if shutil.which("dpkg-query") is None:
        return list(packages)
    missing: list[str] = []
    for name in packages:
        proc = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", name],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0 or "install ok installed" not in proc.stdout:
            missing.append(name)
    return missing


def ensure_packages(packages: tuple[str, ...] | list[str]) -> list[str]:
    """Install what is missing; return the names installed. Clear errors without root/apt."""
    missing = missing_packages(packages)
    if not missing:
        return []
    if shutil.which("apt-get") is None:
        raise PremortemError(
            "these Debian packages are needed but this machine has no apt-get: " + " ".join(missing)
        )
    if os.geteuid() != 0:
        raise PremortemError(
            "these Debian packages are missing and installing them needs root: "
            + " ".join(missing)
            + f"\n  run: sudo apt-get install {' '.join(missing)}"
        )
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    # A stale package list makes install fail with 404s; update first.
    steps = [
        ["apt-get", "update", "-qq"],
        [
            "apt-get",
            # Wait for another apt/dpkg (unattended-upgrades, a second install) to finish
            # instead of failing at once on its lock.
            "-o",
            "DPkg::Lock::Timeout=300",
            "install",
            "-y",
            "-qq",
            "--no-install-recommends",
            *missing,
        ],
    ]
    for cmd in steps:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-8:])
            raise PremortemError(f"{' '.join(cmd[:2])} failed (exit {proc.returncode}):\n{tail}")
    return missing


def main(argv: list[str] | None = None) -> int:
    """`python -m premortem.ops.packages [--tests | --unit]`: what make demo / make test /
    make test-unit need."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m premortem.ops.packages")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--tests", action="store_true", help="also the test suite's tools")
    which.add_argument("--unit", action="store_true", help="only what the unit tests use")
    which.add_argument("--bench", action="store_true", help="only the benchmarks' peers")
    args = parser.parse_args(argv)
    everything = LAB_PACKAGES + FLEET_PACKAGES + (TEST_PACKAGES if args.tests else ())
    wanted = UNIT_PACKAGES if args.unit else BENCH_PACKAGES if args.bench else everything
    try:
        installed = ensure_packages(wanted)
    except PremortemError as exc:
        print(f"premortem: {exc}", file=sys.stderr)
        return 2
    print(f"installed: {' '.join(installed)}" if installed else "all packages are installed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
