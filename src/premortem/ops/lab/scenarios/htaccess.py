"""htaccess: an invalid directive (a misspelt RewriteEngine) in the docroot's .htaccess.

Apache refuses the whole directory: every request answers 500 and the error log says
".htaccess: Invalid command 'RewriteEngin', perhaps misspelled or defined by a module
not included in the server configuration". Fix: correct or remove the line.
"""

from __future__ import annotations

from premortem.ops.lab.scenarios._helpers import HtaccessLines
from premortem.ops.lab.scenarios.base import Expected
from premortem.ops.lab.wordpress import HTACCESS

BAD_LINE = "RewriteEngin On\n"
# The bad line is appended after WordPress's block.
LINE = HTACCESS.count("\n") + 1


class Htaccess(HtaccessLines):
    code = "htaccess"
    summary = f"invalid directive 'RewriteEngin On' at .htaccess line {LINE}: 500"
    expected = Expected(diagnosis="htaccess-invalid-directive", file=".htaccess", line=LINE)
    http_status = 500
    order = 13
    after = BAD_LINE.encode()
