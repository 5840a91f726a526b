"""A web server's own config test (`apache2ctl -t`, `nginx -t`): does its config load, and if
not, which file:line is wrong.

Run through the `Host` (a test replays recorded output), with the master's or the site's
`-d`/`-f`/`-c` arguments when known. Both only parse the configuration: nothing is started,
signalled or rewritten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from premortem.host import Host, ServiceManager

DEFAULT_APACHE_CONFIG = "/etc/apache2/apache2.conf"
DEFAULT_NGINX_CONFIG = "/etc/nginx/nginx.conf"
OUTPUT_KEPT = 2000

# nginx: "nginx: [emerg] unknown directive "foo" in /etc/nginx/sites-enabled/default:12"
_NGINX_WHERE = re.compile(
    r"\[(?:emerg|alert|crit|error)\] (?P<what>.*?) in (?P<file>/\S+?):(?P<line>\d+)\s*$"
)
# Apache: "AH00526: Syntax error on line 12 of /etc/apache2/sites-enabled/x.conf:" + the reason.
_APACHE_WHERE = re.compile(r"[Ss]yntax error on line (?P<line>\d+) of (?P<file>/\S+?):?\s*$")


@dataclass
class ConfigTest:
    """The outcome of a server's config test; `file`/`line`/`error` when it names them."""

    command: list[str] = field(default_factory=list)
    ok: bool = True
    output: str = ""
    file: str = ""
    line: int | None = None
    error: str = ""

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.file and self.line else self.file


def config_test_command(
    kind: str, config: str, master_args: list[str], services: ServiceManager
) -> tuple[str, ...] | None:
    """The command that tests `config` of `kind` (None when its program is not installed).

    `master_args`: the running master's -d/-f/-D (Apache) arguments, so the test reads what
    that master reads; Debian's default Apache is tested through apache2ctl (it sources
    /etc/apache2/envvars, without which apache2.conf does not load).
    """
    if kind == "nginx":
        nginx = services.program("nginx")
        if not nginx:
            return None
        return (nginx, "-t", "-c", config) if config else (nginx, "-t")
    if not master_args and config in ("", DEFAULT_APACHE_CONFIG):
        ctl = services.program("apache2ctl", "apachectl")
        if ctl:
            return (ctl, "-t")
    apache = services.program("apache2", "httpd")
    if not apache:
        return None
    if master_args:
        return (apache, *master_args, "-t")
    return (apache, "-f", config, "-t")


def run_config_test(command: tuple[str, ...], env: dict[str, str], host: Host) -> ConfigTest | None:
    result = host.run_check(command, env)
    if result is None:
        return None
    test = ConfigTest(
        command=list(command), ok=result.returncode == 0, output=result.output[-OUTPUT_KEPT:]
    )
    if not test.ok:
        test.file, test.line, test.error = failure_place(result.output)
    return test


def failure_place(output: str) -> tuple[str, int | None, str]:
    """(file, line, what is wrong) of a failed config test's output ("" / None if unnamed)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for index, text in enumerate(lines):
        if (nginx := _NGINX_WHERE.search(text)) is not None:
            return nginx.group("file"), int(nginx.group("line")), nginx.group("what")
        if (apache := _APACHE_WHERE.search(text)) is not None:
            reason = lines[index + 1] if index + 1 < len(lines) else ""
            return apache.group("file"), int(apache.group("line")), reason
    errors = [line for line in lines if "[emerg]" in line or "AH0" in line or "rror" in line]
    return "", None, (errors[0] if errors else (lines[0] if lines else ""))
