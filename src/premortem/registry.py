"""Every problem class premortem knows, listed once: check rules, diagnose analyzers, lab faults.

Adding a problem class means adding its module (with its fixtures) and one line here
(`python -m premortem.dev new rule|analyzer|scenario CODE` does all three); a lab
scenario's line is in `premortem.ops.lab.scenarios` (see `scenarios()`). Each
kind is imported only when asked for: `premortem check` does not load the analyzers or the lab.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar

from premortem.errors import InternalError

if TYPE_CHECKING:
    from premortem.analyzers.base import Analyzer
    from premortem.ops.lab.scenarios.base import Scenario
    from premortem.problem import ProblemClass
    from premortem.rules.base import Rule

P = TypeVar("P", bound="type[ProblemClass]")


def rules() -> list[type[Rule]]:
    """Every rule of `premortem check`, in order of importance (also the order of the docs)."""
    from premortem.rules import (  # imported when asked: see the module docstring
        broken_symlink,
        exposed_source,
        missing_include,
        php_syntax,
        server_config,
        unreadable,
    )

    return _checked(
        [
            missing_include.MissingInclude,
            php_syntax.PhpSyntax,
            broken_symlink.BrokenSymlink,
            exposed_source.ExposedSource,
            unreadable.UnreadableFile,
            server_config.ServerConfig,
        ]
    )


def analyzers() -> list[type[Analyzer]]:
    """Every analyzer of `premortem diagnose`; the fallbacks (http-error) come last."""
    from premortem.analyzers import (  # imported when asked: see the module docstring
        blank_page,
        database_connection,
        disk_full,
        docroot_missing,
        fpm_handler_no_pool,
        htaccess_invalid_directive,
        http_error,
        missing_file,
        not_listening,
        permission_denied,
        php_fatal,
        php_fpm_down,
        php_not_executed,
        redirect_loop,
        server_down,
        tls_certificate,
        too_many_open_files,
    )

    return _checked(
        [
            database_connection.DatabaseConnection,
            disk_full.DiskFull,
            docroot_missing.DocrootMissing,
            htaccess_invalid_directive.HtaccessInvalidDirective,
            missing_file.MissingFile,
            not_listening.NotListening,
            permission_denied.PermissionDenied,
            php_fatal.PhpFatal,
            php_fpm_down.PhpFpmDown,
            php_not_executed.PhpNotExecuted,
            redirect_loop.RedirectLoop,
            server_down.ServerDown,
            too_many_open_files.TooManyOpenFiles,
            blank_page.BlankPage,
            tls_certificate.TlsCertificate,
            fpm_handler_no_pool.FpmHandlerNoPool,
            http_error.HttpError,
        ]
    )


def scenarios() -> list[type[Scenario]]:
    """Every fault scenario of the lab (`premortem lab break --list` filters by server).

    Listed in `premortem.ops.lab.scenarios`: the lab looks them up by name, and it cannot
    import this module back (this module imports the lab's).
    """
    from premortem.ops.lab.scenarios import scenario_classes  # imported when asked: see docstring

    return _checked(scenario_classes())


def all_problem_classes() -> list[type[ProblemClass]]:
    return [*rules(), *analyzers(), *scenarios()]


def _checked(classes: Sequence[P]) -> list[P]:
    """The list as given, after making sure no code is malformed or used twice."""
    seen: set[str] = set()
    for cls in classes:
        code = getattr(cls, "code", "")
        if code in seen:
            raise InternalError(f"problem class code {code!r} is registered twice")
        seen.add(code)
        problems = cls.doc_problems()
        if problems:
            raise InternalError("; ".join(problems))
    return list(classes)
