"""server-config: web server configuration that points at nothing or needs a missing module."""

from __future__ import annotations

import difflib
import glob
import os
import stat
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from premortem.model import Edit, Finding, Fix, Severity
from premortem.php.suggest import edit_distance
from premortem.php.walk import is_within
from premortem.rules.base import Rule
from premortem.textfile import line_of

if TYPE_CHECKING:
    from premortem.check.context import CheckContext
    from premortem.readers.apache import ApacheConfig
    from premortem.readers.phpfpm import PhpFpmPool

# The configuration readers (apache, nginx, php-fpm) are imported by the methods that use
# them: this rule only runs with --server-config, and importing them costs a plain check
# a tenth of its re-run.

# .htaccess directives and the module that provides them: without it, Apache answers 500
# ("Invalid command ..., perhaps misspelled or defined by a module not included").
DIRECTIVE_MODULES: dict[str, str] = {
    **dict.fromkeys(
        ["rewriteengine", "rewriterule", "rewritecond", "rewritebase", "rewriteoptions"],
        "rewrite",
    ),
    **dict.fromkeys(["header", "requestheader"], "headers"),
    **dict.fromkeys(["expiresactive", "expiresbytype", "expiresdefault"], "expires"),
    "addoutputfilterbytype": "filter",
    **dict.fromkeys(["setenvif", "setenvifnocase", "browsermatch"], "setenvif"),
    **dict.fromkeys(["php_value", "php_flag", "php_admin_value", "php_admin_flag"], "php"),
    **dict.fromkeys(["order", "allow", "deny"], "access_compat"),
    **dict.fromkeys(["redirect", "redirectmatch", "redirectpermanent"], "alias"),
    "authuserfile": "authn_file",
    "directoryindex": "dir",
    **dict.fromkeys(["addtype", "addhandler", "forcetype", "addcharset"], "mime"),
    "setenv": "env",
    "deflatecompressionlevel": "deflate",
}

# Directives allowed in .htaccess by the standard modules, as spelt in the manual: a
# directive that is none of these but one or two letters away from one is a typo
# ("Invalid command": 500). Unknown directives far from all of these are left alone
# (they may come from a third-party module).
HTACCESS_DIRECTIVES: dict[str, str] = {
    name.lower(): name
    for name in (
        "AcceptPathInfo",
        "AddCharset",
        "AddDefaultCharset",
        "AddDescription",
        "AddEncoding",
        "AddHandler",
        "AddIcon",
        "AddIconByType",
        "AddLanguage",
        "AddOutputFilter",
        "AddOutputFilterByType",
        "AddType",
        "Action",
        "AuthBasicProvider",
        "AuthGroupFile",
        "AuthName",
        "AuthType",
        "AuthUserFile",
        "BrowserMatch",
        "BrowserMatchNoCase",
        "CGIPassAuth",
        "CheckSpelling",
        "ContentDigest",
        "DefaultLanguage",
        "DefaultType",
        "DirectoryIndex",
        "DirectoryIndexRedirect",
        "DirectorySlash",
        "EnableMMAP",
        "EnableSendfile",
        "ErrorDocument",
        "ExpiresActive",
        "ExpiresByType",
        "ExpiresDefault",
        "FallbackResource",
        "FileETag",
        "ForceLanguagePriority",
        "ForceType",
        "Header",
        "HeaderName",
        "IndexIgnore",
        "IndexOptions",
        "IndexOrderDefault",
        "LanguagePriority",
        "LimitRequestBody",
        "Options",
        "Order",
        "PassEnv",
        "ReadmeName",
        "Redirect",
        "RedirectMatch",
        "RedirectPermanent",
        "RedirectTemp",
        "RemoveHandler",
        "RemoveType",
        "RequestHeader",
        "Require",
        "RewriteBase",
        "RewriteCond",
        "RewriteEngine",
        "RewriteOptions",
        "RewriteRule",
        "Satisfy",
        "ServerSignature",
        "SetEnv",
        "SetEnvIf",
        "SetEnvIfNoCase",
        "SetHandler",
        "SetOutputFilter",
        "SSLOptions",
        "SSLRequireSSL",
        "UnsetEnv",
        "XBitHack",
        "Allow",
        "Deny",
        "php_value",
        "php_flag",
        "php_admin_value",
        "php_admin_flag",
        "DeflateCompressionLevel",
    )
}


def closest_directive(name: str) -> str | None:
    """The known directive `name` is a typo of, if it is one (case-insensitive)."""

    lowered = name.lower()
    if lowered in HTACCESS_DIRECTIVES or lowered in DIRECTIVE_MODULES or len(lowered) < 6:
        return None
    close = sorted(
        (edit_distance(lowered, known, 3), known)
        for known in HTACCESS_DIRECTIVES
        if abs(len(known) - len(lowered)) <= 2
    )
    if close and close[0][0] <= 2 and (len(close) == 1 or close[1][0] > close[0][0]):
        return HTACCESS_DIRECTIVES[close[0][1]]
    return None


class ServerConfig(Rule):
    """
    ## What it does
    With `--server-config FILE`, reads the web server's configuration and checks what it
    points at. For Apache httpd the configuration is read the way httpd reads it
    (ServerRoot-relative `Include`/`IncludeOptional` with wildcards, `Define` and `${VAR}`
    with Debian's `envvars`, `<IfModule>`/`<IfDefine>`): `Include` of nothing, unbalanced
    sections, `LoadModule` files, `DocumentRoot` and `Alias` targets that do not exist, and
    `.htaccess` files of the checked tree that use a directive whose module is not loaded
    or a misspelt directive (with did-you-mean), unless `AllowOverride None` covers them
    (Apache then ignores them). For nginx the
    configuration is parsed with crossplane (includes followed): parse errors and missing
    includes, `root` and `alias` directories that do not exist, and `fastcgi_pass` unix
    sockets that are not there (php-fpm stopped or another PHP version's socket). Apache's
    proxy_fcgi handlers (`SetHandler "proxy:unix:SOCKET|fcgi://localhost"`, `AddHandler`,
    `ProxyPassMatch ... fcgi://HOST:PORT/...`) must name the address a php-fpm pool
    listens on (the pools of the php-fpm configs given with `--server-config`, else
    Debian's `/etc/php/*/fpm/php-fpm.conf`), with did-you-mean, and a unix socket must exist.

    ## Why it breaks sites
    httpd refuses to start on an `Include` of nothing or a missing module file; a missing
    `DocumentRoot` serves 404s; `RewriteEngine On` in a `.htaccess` without mod_rewrite
    makes every request under that directory answer 500; nginx answers 502 when its
    `fastcgi_pass` socket does not exist, Apache 503 when its PHP handler names an address
    no php-fpm pool listens on.

    ## Example
    ```apache
    # /etc/apache2/sites-enabled/example.conf
    DocumentRoot /srv/www/example/current
    ```
    ```
    .htaccess:3: error[server-config] RewriteEngine needs mod_rewrite, which is not loaded:
      Apache answers 500 for every request under this directory
    ```

    ## Fix
    Enable the module (`a2enmod rewrite && systemctl reload apache2`) or wrap the directives
    in `<IfModule mod_rewrite.c>`; create or correct the paths the configuration names;
    start php-fpm or point `fastcgi_pass` at its real socket.
    """

    code = "server-config"
    summary = "web server configuration pointing at nothing or needing an unloaded module"
    severity = "error"
    needs = "server_config"

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        fpm_configs = [p for p in ctx.options.server_configs if _looks_like_php_fpm(p)]
        for path in ctx.options.server_configs:
            if path in fpm_configs:
                continue  # read for its pools, by the Apache handlers that name them
            if _looks_like_nginx(path):
                yield from self._nginx(ctx, path)
            else:
                yield from self._apache(ctx, path, fpm_configs)

    # -- Apache ------------------------------------------------------------------------

    def _finding(
        self,
        ctx: CheckContext,
        severity: Severity,
        message: str,
        file: str,
        line: int | None,
        fix: Fix | None = None,
    ) -> Finding:
        return Finding(
            rule=self.code,
            severity=severity,
            message=message,
            file=ctx.rel(file),
            line=line or None,
            source_line=line_of(file, line) if line else None,
            fix=fix,
        )

    def _apache(
        self, ctx: CheckContext, main_file: str, fpm_configs: list[str]
    ) -> Iterable[Finding]:
        from premortem.readers.apache import read_apache_config

        config = read_apache_config(main_file)
        yield from self._fcgi_handlers(ctx, config, fpm_configs)
        for file, line, severity, message in config.problems:
            yield self._finding(
                ctx, "error" if severity == "error" else "warning", message, file, line
            )
        for directive in config.named("LoadModule"):
            if len(directive.args) >= 2:
                so = directive.args[1]
                so = so if os.path.isabs(so) else os.path.join(config.server_root, so)
                if not os.path.isfile(so):
                    yield self._finding(
                        ctx,
                        "error",
                        f"LoadModule {directive.args[0]}: {so} does not exist"
                        " (httpd will not start)",
                        directive.file,
                        directive.line,
                    )
        for directive in config.named("DocumentRoot"):
            if directive.args and not os.path.isdir(
                os.path.join(config.server_root, directive.args[0])
            ):
                yield self._finding(
                    ctx,
                    "error",
                    f"DocumentRoot {directive.args[0]} is not a directory:"
                    " every request answers 404",
                    directive.file,
                    directive.line,
                )
        for name in ("Alias", "ScriptAlias"):
            for directive in config.named(name):
                target = os.path.join(config.server_root, directive.args[-1])
                if len(directive.args) >= 2 and not os.path.exists(target):
                    yield self._finding(
                        ctx,
                        "warning",
                        f"{name} {directive.args[0]}: {directive.args[1]} does not exist",
                        directive.file,
                        directive.line,
                    )
        yield from self._htaccess(ctx, config)

    def _fcgi_handlers(
        self, ctx: CheckContext, config: ApacheConfig, fpm_configs: list[str]
    ) -> Iterable[Finding]:
        """Each proxy_fcgi handler must name the address a php-fpm pool listens on (the
        pools of the php-fpm configs given, else Debian's); a unix socket must exist."""
        from premortem.readers.apache_handler import all_fcgi_handlers
        from premortem.readers.phpfpm import read_fpm_config, same_address, unix_path

        pools = [
            pool
            for conf in fpm_configs or sorted(glob.glob(DEBIAN_FPM_CONFIGS))
            for pool in read_fpm_config(conf)[1]
        ]
        for handler in all_fcgi_handlers(config):
            address, socket = handler.address, unix_path(handler.address)
            if pools and not any(same_address(p.listen, address) for p in pools):
                meant = _closest_pool(pools, socket or address)
                yield self._finding(
                    ctx,
                    "error",
                    f"{handler.directive} hands PHP to {address}, but no php-fpm pool listens"
                    f" there: 503 on PHP pages (did you mean {meant.listen}? pool"
                    f" [{meant.name}] at {meant.listen_at})",
                    handler.file,
                    handler.line,
                    Fix(f"point the handler at the address pool [{meant.name}] listens on"),
                )
            elif socket and not _is_socket(socket):
                yield self._finding(
                    ctx,
                    "error",
                    f"{handler.directive} hands PHP to {address}: no such socket (php-fpm"
                    " stopped?): 503 on PHP pages",
                    handler.file,
                    handler.line,
                )

    def _allow_override(self, config: ApacheConfig, directory: str) -> str | None:
        """The AllowOverride of the most specific <Directory> covering `directory`."""
        best: tuple[int, str] | None = None
        real = os.path.realpath(directory)
        for directive in config.named("AllowOverride"):
            for section, argument in directive.sections:
                if section.lower() != "directory" or argument.startswith("~"):
                    continue
                prefix = argument.rstrip("/") or "/"
                covers = is_within(directory, prefix) or is_within(real, prefix) or prefix == "/"
                if covers and (best is None or len(prefix) >= best[0]):
                    best = (len(prefix), " ".join(directive.args))
        return best[1] if best else None

    def _htaccess(self, ctx: CheckContext, config: ApacheConfig) -> Iterable[Finding]:
        from premortem.readers.apache import ApacheConfig, ApacheReader

        names = {d.args[0] for d in config.named("AccessFileName") if d.args} or {".htaccess"}
        for entry in ctx.tree.entries:
            if entry.kind != "file" or entry.rel.rsplit("/", 1)[-1] not in names:
                continue
            override = self._allow_override(config, os.path.dirname(entry.path))
            if override is not None and override.lower() == "none":
                continue  # Apache does not read it
            local = ApacheConfig(
                main_file=entry.path,
                server_root=config.server_root,
                modules=dict(config.modules),
                defines=dict(config.defines),
            )
            ApacheReader(local).read_file(entry.path, ())
            for directive in local.directives:
                meant = closest_directive(directive.name)
                if meant is not None:
                    finding = self._finding(
                        ctx,
                        "error",
                        f"Invalid command '{directive.name}': Apache answers 500 for every"
                        f" request under this directory; did you mean {meant}?",
                        entry.path,
                        directive.line,
                    )
                    finding.suggestion = meant
                    source = finding.source_line or ""
                    if source.count(directive.name) == 1:
                        finding.fix = Fix(
                            description=f"write {meant} instead of {directive.name}",
                            edits=(Edit(entry.display, directive.line, directive.name, meant),),
                        )
                    yield finding
                    continue
                module = DIRECTIVE_MODULES.get(directive.name.lower())
                if module is None or _loaded(config, module):
                    continue
                yield self._finding(
                    ctx,
                    "error",
                    f"{directive.name} needs mod_{module}, which is not loaded: Apache answers 500"
                    " for every request under this directory",
                    entry.path,
                    directive.line,
                    Fix(
                        description=f"enable mod_{module} or wrap the directives in"
                        f" <IfModule mod_{module}.c>",
                        commands=(f"a2enmod {module}", "systemctl reload apache2"),
                    ),
                )

    # -- nginx -------------------------------------------------------------------------

    def _nginx(self, ctx: CheckContext, path: str) -> Iterable[Finding]:
        from premortem.readers.nginx import lint_nginx_config

        files, errors = lint_nginx_config(path)
        for error in errors:
            yield self._finding(
                ctx, "error", str(error.get("error")), error.get("file", path), error.get("line")
            )
        for file, parsed in files:
            yield from self._nginx_block(ctx, file, parsed)

    def _nginx_block(
        self, ctx: CheckContext, file: str, block: list[dict[str, Any]]
    ) -> Iterable[Finding]:
        for directive in block:
            name, args, line = (
                directive.get("directive"),
                directive.get("args", []),
                directive.get("line"),
            )
            named_path = name in ("root", "alias") and args and "$" not in args[0]
            if named_path and not os.path.exists(args[0]):
                yield self._finding(
                    ctx,
                    "error" if name == "root" else "warning",
                    f"{name} {args[0]} does not exist",
                    file,
                    line,
                )
            if name == "fastcgi_pass" and args and args[0].startswith("unix:"):
                socket_path = args[0][len("unix:") :]
                if not _is_socket(socket_path):
                    yield self._finding(
                        ctx,
                        "error",
                        f"fastcgi_pass {args[0]}: no such socket (php-fpm stopped or another"
                        " version's socket): 502",
                        file,
                        line,
                    )
            if directive.get("block"):
                yield from self._nginx_block(ctx, file, directive["block"])


def _loaded(config: ApacheConfig, module: str) -> bool:
    if module == "php":
        return any(key.startswith("php") for key in config.modules)
    from premortem.readers.apache import module_key

    return module_key(module) in config.modules


DEBIAN_FPM_CONFIGS = "/etc/php/*/fpm/php-fpm.conf"


def _closest_pool(pools: list[PhpFpmPool], wanted: str) -> PhpFpmPool:
    return max(pools, key=lambda pool: difflib.SequenceMatcher(None, pool.listen, wanted).ratio())


def _looks_like_php_fpm(path: str) -> bool:
    """A php-fpm config: INI sections and a pool's or the master's settings."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            head = handle.read(65536)
    except OSError:
        return False
    return "[global]" in head or ("\nlisten" in head and "\npm" in head)


def _is_socket(path: str) -> bool:
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False


def _looks_like_nginx(path: str) -> bool:
    if "nginx" in path:
        return True
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            head = handle.read(65536)
    except OSError:
        return False
    return (
        "server {" in head or "http {" in head or "events {" in head
    ) and "<VirtualHost" not in head
