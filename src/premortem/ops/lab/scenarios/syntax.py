"""syntax: a PHP parse error in the theme's functions.php (an extra closing parenthesis).

Line 346 of twentytwentyone/functions.php becomes
`add_action( 'after_setup_theme', 'twenty_twenty_one_setup' ));`: every front-end page
answers 500 with "PHP Parse error: syntax error, unexpected token ")"" on that line.
Fix: remove the extra parenthesis (`php -l` confirms).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from premortem.ops.lab.scenarios._helpers import replace_line
from premortem.ops.lab.scenarios.base import Expected, Scenario

if TYPE_CHECKING:
    from premortem.ops.lab.core import Lab
    from premortem.ops.lab.journal import FaultJournal

FUNCTIONS = "wp-content/themes/twentytwentyone/functions.php"
LINE = 346


class Syntax(Scenario):
    code = "syntax"
    summary = f"PHP parse error (an extra ')') in {FUNCTIONS} line {LINE}: 500"
    expected = Expected(diagnosis="php-fatal", file=FUNCTIONS, line=LINE, static=True)
    http_status = 500
    order = 11
    servers = ("apache", "nginx")

    def inject(self, lab: Lab, journal: FaultJournal) -> None:
        replace_line(
            journal,
            lab.release_dir / FUNCTIONS,
            LINE,
            "'twenty_twenty_one_setup' );",
            "'twenty_twenty_one_setup' ));",
        )
