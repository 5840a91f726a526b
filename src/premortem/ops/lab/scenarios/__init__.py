"""The fault scenarios of the lab: one module per scenario, listed once in `scenario_classes()`.

`premortem.registry.scenarios()` hands the list out with the other problem classes. It is
kept here, not in the registry, because the lab looks scenarios up by name while the
registry imports the lab's modules: the lab importing the registry back would be a cycle.
"""

from __future__ import annotations

from premortem.errors import UsageError
from premortem.ops.lab.scenarios.base import Expected, Scenario

__all__ = ["Expected", "Scenario", "all_scenarios", "get_scenario", "scenario_classes"]


def scenario_classes() -> list[type[Scenario]]:
    """Every fault scenario class (`python -m premortem.dev new scenario` adds its line)."""
    from premortem.ops.lab.scenarios import (  # imported when asked: one module per scenario
        apache_other_port,
        apache_stopped,
        cert_chain_missing,
        cert_expired,
        cert_name_mismatch,
        dangling_current,
        db_down,
        disk_full,
        docroot_missing,
        feed_fatal,
        fpm_handler_wrong_socket,
        htaccess,
        include_case,
        include_deleted,
        include_typo_name,
        memory_limit,
        missing_extension,
        mu_plugin_fatal,
        nginx_other_port,
        nginx_stopped,
        open_files,
        permission,
        php_fpm_down,
        php_not_executed,
        redirect_loop,
        search_fatal,
        seed,
        seed_logged,
        syntax,
        template_fatal,
        untraversable_dir,
        wrong_db_password,
    )

    return [
        apache_other_port.ApacheOtherPort,
        apache_stopped.ApacheStopped,
        dangling_current.DanglingCurrent,
        db_down.DbDown,
        disk_full.DiskFull,
        docroot_missing.DocrootMissing,
        htaccess.Htaccess,
        include_case.IncludeCase,
        include_deleted.IncludeDeleted,
        include_typo_name.IncludeTypoName,
        memory_limit.MemoryLimit,
        missing_extension.MissingExtension,
        mu_plugin_fatal.MuPluginFatal,
        nginx_other_port.NginxOtherPort,
        nginx_stopped.NginxStopped,
        open_files.OpenFiles,
        permission.Permission,
        php_fpm_down.PhpFpmDown,
        php_not_executed.PhpNotExecuted,
        redirect_loop.RedirectLoop,
        seed.Seed,
        seed_logged.SeedLogged,
        syntax.Syntax,
        untraversable_dir.UntraversableDir,
        wrong_db_password.WrongDbPassword,
        cert_expired.CertExpired,
        cert_name_mismatch.CertNameMismatch,
        cert_chain_missing.CertChainMissing,
        fpm_handler_wrong_socket.FpmHandlerWrongSocket,
        feed_fatal.FeedFatal,
        search_fatal.SearchFatal,
        template_fatal.TemplateFatal,
    ]


def all_scenarios(server: str | None = None, tls: bool | None = None) -> list[Scenario]:
    """Every scenario, or those that apply to a lab of the server flavour given (tls=False:
    a plain-HTTP lab, where the certificate faults do not apply)."""
    found = [
        cls()
        for cls in scenario_classes()
        if (server is None or server in cls.servers) and not (tls is False and cls.tls_only)
    ]
    return sorted(found, key=lambda s: (s.order, s.code))


def get_scenario(name: str) -> Scenario:
    scenarios = {s.code: s for s in all_scenarios()}
    if name not in scenarios:
        raise UsageError(
            f"unknown scenario {name!r}; known: {', '.join(scenarios)} (see `lab break --list`)"
        )
    return scenarios[name]
