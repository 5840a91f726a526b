"""The rules of `premortem check`: one module per problem class.

Each rule is a `Rule` subclass whose docstring is its documentation, in four parts
(What it does / Why it breaks sites / Example / Fix); `docs/rules/` is generated from
them (`python -m premortem.rules.docs`). Adding a rule means adding a module and listing
it in `all_rules()`.
"""

from __future__ import annotations

from premortem.rules.base import Rule
from premortem.rules.broken_symlink import BrokenSymlink
from premortem.rules.exposed_source import ExposedSource
from premortem.rules.missing_include import MissingInclude
from premortem.rules.php_syntax import PhpSyntax
from premortem.rules.server_config import ServerConfig
from premortem.rules.unreadable import Unreadable

__all__ = ["Rule", "all_rules"]


def all_rules() -> list[type[Rule]]:
    """Every rule, in order of importance (also the order of the docs)."""
    return [MissingInclude, PhpSyntax, BrokenSymlink, ExposedSource, Unreadable, ServerConfig]
