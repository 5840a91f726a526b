"""The `htaccess` fault of the lab (documented on its class)."""

from __future__ import annotations

from premortem.ops.lab.scenarios._helpers import HtaccessLines
from premortem.ops.lab.scenarios.base import Expected
from premortem.ops.lab.wordpress import HTACCESS

BAD_LINE = "RewriteEngin On\n"
# The bad line is appended after WordPress's block.
LINE = HTACCESS.count("\n") + 1


class Htaccess(HtaccessLines):
    """
    ## What it does
    Apache refuses the whole directory: every request answers 500 and the error log says
    ".htaccess: Invalid command 'RewriteEngin', perhaps misspelled or defined by a module
    not included in the server configuration".

    ## Why it breaks sites
    GET / answers 500 on the apache lab; `premortem diagnose` names
    `htaccess-invalid-directive` at `.htaccess` line 12.

    ## Example
    `premortem lab break htaccess --dir /srv/premortem-lab`, then `premortem diagnose
    http://127.0.0.1:8080/`; `premortem lab repair` undoes the fault byte for byte.

    ## Fix
    correct or remove the line.
    """

    code = "htaccess"
    summary = f"invalid directive 'RewriteEngin On' at .htaccess line {LINE}: 500"
    expected = Expected(diagnosis="htaccess-invalid-directive", file=".htaccess", line=LINE)
    http_status = 500
    order = 13
    after = BAD_LINE.encode()
