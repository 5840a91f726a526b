"""syntax: a PHP parse error in the theme's functions.php (an extra closing parenthesis).

Line 346 of twentytwentyone/functions.php becomes
`add_action( 'after_setup_theme', 'twenty_twenty_one_setup' ));`: every front-end page
answers 500 with "PHP Parse error: syntax error, unexpected token ")"" on that line.
Fix: remove the extra parenthesis (`php -l` confirms).
"""

from __future__ import annotations

from premortem.ops.lab.scenarios._helpers import EditedLine
from premortem.ops.lab.scenarios.base import Expected

FUNCTIONS = "wp-content/themes/twentytwentyone/functions.php"
LINE = 346


class Syntax(EditedLine):
    code = "syntax"
    summary = f"PHP parse error (an extra ')') in {FUNCTIONS} line {LINE}: 500"
    expected = Expected(diagnosis="php-fatal", file=FUNCTIONS, line=LINE, static=True)
    http_status = 500
    order = 11
    servers = ("apache", "nginx")

    old = "'twenty_twenty_one_setup' );"
    new = "'twenty_twenty_one_setup' ));"
