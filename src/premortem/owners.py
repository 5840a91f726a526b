"""Names of the numeric owners of files, as `ls -l` shows them (the number when the
system knows no such user or group)."""

from __future__ import annotations

import grp
import pwd


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)
