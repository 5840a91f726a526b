"""unreadable: files and directories the web server's user cannot read or traverse."""

from __future__ import annotations

import grp
import os
import pwd
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from premortem.errors import PremortemError
from premortem.model import Finding, Fix, Severity
from premortem.owners import group_name, user_name
from premortem.php.walk import Stat, is_within
from premortem.rules.base import Rule

if TYPE_CHECKING:
    from premortem.check.context import CheckContext


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gids: frozenset[int]


def account(name: str) -> Account:
    """The uid and all group ids of a user (primary and supplementary)."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise PremortemError(f"--user {name}: no such user on this machine") from None
    gids = {entry.pw_gid}
    gids.update(g.gr_gid for g in grp.getgrall() if name in g.gr_mem)
    return Account(name, entry.pw_uid, frozenset(gids))


def allowed(st: os.stat_result | Stat, who: Account, want: int) -> bool:
    """Whether `who` has all of `want` (a mask of 4=r, 2=w, 1=x) by the mode bits."""
    if who.uid == 0:
        return True
    mode = st.st_mode
    if st.st_uid == who.uid:
        bits = (mode >> 6) & 7
    elif st.st_gid in who.gids:
        bits = (mode >> 3) & 7
    else:
        bits = mode & 7
    return bits & want == want


class UnreadableFile(Rule):
    """
    ## What it does
    Checks, from each entry's mode and owner, that the web server's user (`www-data` by
    default, `--user` to change) can read every file and read and traverse every directory
    of the tree. Errors: PHP files it cannot read, and directories it cannot traverse that
    hold files the code includes. Warnings: other files and directories (a directory may
    be closed on purpose, e.g. to disable a plugin).

    ## Why it breaks sites
    A release unpacked as root with a umask of 077, or a `wp-config.php` made `0600` by a
    script, works for the deploying user and fails for Apache/php-fpm: "failed to open
    stream: Permission denied", a fatal error on `require`, HTTP 500 or 403.

    ## Example
    ```
    -rw------- root root wp-config.php
    ```
    ```
    wp-config.php: error[unreadable] www-data cannot read this file (mode 0600, owner root:root)
    ```

    ## Fix
    Give the web server's user read access (`chmod o+r FILE` / `chmod o+rx DIR`, or
    `chgrp www-data FILE && chmod g+r FILE` for files that hold secrets).
    """

    code = "unreadable"
    summary = "file or directory the web server's user cannot read"
    severity = "error"

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        who = account(ctx.options.user)
        included = sorted(
            {c for site in ctx.include_sites if site.exists for c in site.candidate_paths}
        )

        def included_under(directory: str) -> list[str]:
            real = os.path.realpath(directory)
            return [
                ctx.rel(path)
                for path in included
                if is_within(path, directory) or is_within(path, real)
            ]

        for entry in ctx.tree.entries:
            if entry.st is None:
                continue
            severity: Severity
            extra = ""
            if entry.kind == "dir":
                if allowed(entry.st, who, 5):
                    continue
                # An error when the code includes files from it; otherwise a warning: a
                # directory may be closed on purpose (Debian's DokuWiki ships
                # lib/plugins/testing as 0700 to disable that plugin).
                needed = included_under(entry.path)
                severity = "error" if needed else "warning"
                what, chmod = "read and traverse this directory", "o+rx"
                if needed:
                    extra = f"; the code includes {len(needed)} file(s) from it, e.g. {needed[0]}"
            elif entry.kind == "file":
                if allowed(entry.st, who, 4):
                    continue
                what = "read this file"
                severity = "error" if entry.is_php else "warning"
                chmod = "o+r"
            else:
                continue
            owner, group = user_name(entry.st.st_uid), group_name(entry.st.st_gid)
            mode = stat.S_IMODE(entry.st.st_mode)
            yield Finding(
                rule=self.code,
                severity=severity,
                message=f"{who.name} cannot {what} (mode {mode:04o}, owner {owner}:{group}){extra}",
                file=entry.display,
                fix=Fix(
                    description=f"let {who.name} {what.split(' this')[0]}",
                    commands=(f"chmod {chmod} {entry.path}",),
                ),
            )
