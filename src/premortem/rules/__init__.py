"""The rules of `premortem check`: one module per problem class.

Each rule is a `Rule` subclass whose docstring is its documentation, in four parts
(What it does / Why it breaks sites / Example / Fix); `docs/rules/` is generated from
them (`python -m premortem.rules.docs`). Adding a rule means adding a module and listing
it in `all_rules()`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from premortem.model import Finding, Severity

if TYPE_CHECKING:
    from premortem.check.context import CheckContext


class Rule(ABC):
    """Base class: a code, a one-line summary, a default severity and `check()`."""

    code: ClassVar[str]
    summary: ClassVar[str]
    severity: ClassVar[Severity] = "error"
    # Rules that need an option (e.g. --server-config) say so and stay quiet without it.
    needs: ClassVar[str | None] = None

    @abstractmethod
    def check(self, ctx: CheckContext) -> Iterable[Finding]: ...

    @classmethod
    def doc(cls) -> str:
        import inspect

        return inspect.cleandoc(cls.__doc__ or "")


def all_rules() -> list[type[Rule]]:
    """Every rule, in order of importance (also the order of the docs)."""
    from premortem.rules.broken_symlink import BrokenSymlink
    from premortem.rules.exposed_source import ExposedSource
    from premortem.rules.missing_include import MissingInclude
    from premortem.rules.php_syntax import PhpSyntax
    from premortem.rules.server_config import ServerConfig
    from premortem.rules.unreadable import Unreadable

    return [MissingInclude, PhpSyntax, BrokenSymlink, ExposedSource, Unreadable, ServerConfig]
