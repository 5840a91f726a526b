"""The `syntax` fault of the lab (documented on its class)."""

from __future__ import annotations

from premortem.ops.lab.scenarios._helpers import EditedLine
from premortem.ops.lab.scenarios.base import Expected

FUNCTIONS = "wp-content/themes/twentytwentyone/functions.php"
LINE = 346


class Syntax(EditedLine):
    """
    ## What it does
    Line 346 of twentytwentyone/functions.php becomes `add_action( 'after_setup_theme',
    'twenty_twenty_one_setup' ));`: every front-end page answers 500 with "PHP Parse error:
    syntax error, unexpected token ")"" on that line.

    ## Why it breaks sites
    GET / answers 500 on the apache and nginx lab; `premortem diagnose` names `php-fatal` at
    `wp-content/themes/twentytwentyone/functions.php` line 346. `premortem check` sees it in
    the release before deploy.

    ## Example
    `premortem lab break syntax --dir /srv/premortem-lab`, then `premortem diagnose
    http://127.0.0.1:8080/`; `premortem lab repair` undoes the fault byte for byte.

    ## Fix
    remove the extra parenthesis (`php -l` confirms).
    """

    code = "syntax"
    summary = f"PHP parse error (an extra ')') in {FUNCTIONS} line {LINE}: 500"
    expected = Expected(diagnosis="php-fatal", file=FUNCTIONS, line=LINE, static=True)
    order = 11

    old = "'twenty_twenty_one_setup' );"
    new = "'twenty_twenty_one_setup' ));"
