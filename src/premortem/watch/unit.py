"""`premortem watch --print-unit`: the systemd unit that runs a watch as a service.

The unit runs the same watch command (the arguments given, without --print-unit) with the
same Python, from the same working directory (so a relative --config still resolves),
restarts it when it dies, and starts it after the web servers. Install::

    premortem watch --config /etc/premortem/blog.toml --print-unit \\
        > /etc/systemd/system/premortem-watch-blog.service
    systemctl daemon-reload && systemctl enable --now premortem-watch-blog
"""

from __future__ import annotations

import os
import shlex
import sys

from premortem.problem import DOCS_BASE_URL
from premortem.siteconfig import site_slug


def systemd_unit(arguments: list[str], *, site: str | None = None) -> str:
    """The unit for `premortem <arguments>` (a watch command line, --print-unit dropped)."""
    kept = [arg for arg in arguments if arg != "--print-unit"]
    command = shlex.join([sys.executable, "-m", "premortem", *kept])
    name = f" for {site}" if site else ""
    return "\n".join(
        [
            "# Written by `premortem watch --print-unit`. Install as",
            f"# /etc/systemd/system/premortem-watch-{site_slug(site) if site else 'site'}.service",
            "[Unit]",
            f"Description=premortem watch{name}",
            f"Documentation={DOCS_BASE_URL}/watch.md",
            "Wants=network-online.target",
            "After=network-online.target apache2.service nginx.service php8.2-fpm.service",
            "",
            "[Service]",
            "Type=simple",
            f"WorkingDirectory={os.getcwd()}",
            # systemd expands %-specifiers in ExecStart: a literal % must be doubled.
            f"ExecStart={command.replace('%', '%%')}",
            "Restart=on-failure",
            "RestartSec=5",
            # watch reacts to SIGTERM by closing open work and stopping.
            "KillSignal=SIGTERM",
            "TimeoutStopSec=30",
            "",
            "[Install]",
            "WantedBy=multi-user.target",
            "",
        ]
    )
