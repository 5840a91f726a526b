"""Read an nginx configuration with crossplane, includes inlined, as nginx reads it.

- `read_nginx_config`: the whole config (includes inlined) and its parse errors as
  "file:line: message". The inlining is done here, not by crossplane's `combine`: crossplane
  0.5.8 labels every directive after an `include` with the included file's name (a loop
  variable shadows the file's), so "file:line" of the http block's `access_log` said
  mime.types:40;
- the `server` block that serves a site, chosen the way the caller knows the site: by
  port and host name (diagnose: `server_for`), or by its `root` (deploy: `server_with_root`);
- of that block: root, index, logs (inherited from `http` and the main context) and the
  access log's format (`access_log PATH [FORMAT]`, default `combined`, `off`; the
  `log_format NAME [escape=...] STRING...` definitions of `http`), the
  `fastcgi_pass` and the addresses behind it (an `upstream` block's servers), the blocks
  from `http` down to the location passing PHP (SCRIPT_FILENAME, open_file_cache), and
  the PID file;
- `NginxSite`: that summary as evidence (plain values, for diagnose's JSON);
- `lint_nginx_config`: every file parsed on its own with context checks, for `check`.

Bounded as the Apache reader is: crossplane reads each included file whole with a blocking
read (`include /proc/*` hung on /proc/kmsg; `include /usr/bin/*` lexed binaries for 40 s),
so for the length of a parse its reader is premortem's: non-blocking, at most 8 MiB a file,
binaries (a NUL in the first 8 KiB) refused, at most MAX_FILES files and MAX_TOTAL_BYTES in
all, said once.

Read-only: nothing here writes or signals nginx.
"""

from __future__ import annotations

import errno
import glob
import io
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import crossplane
import crossplane.lexer
import crossplane.parser

from premortem.accesslog import format_spec
from premortem.readers.apache import (
    MAX_BINARIES_SAID,
    MAX_FILE_BYTES,
    ConfigDirective,
    read_text_bounded,
)
from premortem.readers.files import LOCAL_FILES, ConfigFiles, check_regular

Directive = dict[str, Any]
# Debian's nginx is built with this PID file; a config without `pid` uses it.
DEFAULT_PID_FILE = "/run/nginx.pid"
# One config's bounds (a server with thousands of vhost files stays well inside them).
MAX_FILES = 10_000
MAX_TOTAL_BYTES = 64 * 1024 * 1024
_CROSSPLANE = threading.Lock()


class _BoundedReads:
    """crossplane's `lex(filename)`, reading through read_text_bounded with the bounds,
    from `files`."""

    def __init__(self, files: ConfigFiles = LOCAL_FILES) -> None:
        self.source = files
        self.files = 0
        self.bytes = 0
        self.exhausted = False
        self.binaries = 0

    def lex(self, filename: str) -> Iterator[tuple[str, int, bool]]:
        if self.exhausted:
            return  # said once already
        if self.files >= MAX_FILES or self.bytes >= MAX_TOTAL_BYTES:
            self.exhausted = True
            raise ValueError(
                f"not read, nor the files after it: the config reaches more than {MAX_FILES} "
                f"files or {MAX_TOTAL_BYTES // 2**20} MiB in all (an include glob too wide?)"
            )
        self.files += 1
        try:
            limit = min(MAX_FILE_BYTES, MAX_TOTAL_BYTES - self.bytes)
            text = read_text_bounded(filename, limit, self.source)
        except OSError as exc:
            raise ValueError(f"cannot read: {exc.strerror}") from None
        if "\0" in text:
            self.binaries += 1
            if self.binaries > MAX_BINARIES_SAID:
                return  # counted, said at the end
            raise ValueError("holds NUL bytes: not a config file, not read")
        self.bytes += len(text)
        # crossplane 0.5.8's own lexer, fed the text read (what its `lex` does with a file).
        tokens = crossplane.lexer._lex_file_object(io.StringIO(text))
        yield from crossplane.lexer._balance_braces(tokens, filename)


class _IncludeGlob:
    """What crossplane's parser calls as `glob` (has_magic, glob) for `include`, over
    `files`."""

    def __init__(self, files: ConfigFiles) -> None:
        self.files = files
        self.has_magic = glob.has_magic

    def glob(self, pattern: str) -> list[str]:
        return self.files.glob(pattern)


def _include_open(files: ConfigFiles) -> Callable[[str], io.StringIO]:
    """What crossplane's parser calls as `open` to check an explicit include is readable.
    Its own `open(path)` waited forever on a FIFO with no writer; this one refuses a FIFO,
    socket, device or directory unopened, naming it in the error of the include line."""

    def check(path: str) -> io.StringIO:
        try:
            if files is LOCAL_FILES:
                check_regular(path)
                return io.StringIO()  # read later, by lex, with the bounds
            return io.StringIO(files.read_text(path, MAX_FILE_BYTES))
        except OSError as exc:
            if exc.errno in (errno.EINVAL, errno.EISDIR) and exc.filename is None:
                raise ValueError(f"include {path}: {exc.strerror}: not read") from None
            raise

    return check


@contextmanager
def _bounded_crossplane(files: ConfigFiles = LOCAL_FILES) -> Iterator[_BoundedReads]:
    with _CROSSPLANE:
        original = crossplane.parser.lex
        reads = _BoundedReads(files)
        crossplane.parser.lex = reads.lex
        crossplane.parser.open = _include_open(files)
        if files is not LOCAL_FILES:  # includes looked up on the given files too
            crossplane.parser.glob = _IncludeGlob(files)
        try:
            yield reads
        finally:
            crossplane.parser.lex = original
            crossplane.parser.glob = glob
            if hasattr(crossplane.parser, "open"):
                del crossplane.parser.open


@dataclass
class NginxSite:
    """What the nginx config says about the server block that serves the URL."""

    config_file: str = ""
    listen: list[str] = field(default_factory=list)
    server_name: str = ""
    docroot: str = ""
    error_log: str = ""
    access_log: str = ""
    # How `access_log` is written, as a site config's access_log_format
    # ("nginx:escape=json {...}"); "" for nginx's own `combined`.
    access_log_format: str = ""
    index: list[str] = field(default_factory=list)
    fastcgi_pass: str = ""
    # The addresses behind fastcgi_pass (an upstream block's servers, resolved):
    # "unix:/run/php/php8.2-fpm.sock", "127.0.0.1:9000".
    fastcgi_servers: list[str] = field(default_factory=list)
    # The top-level `user` directive: whom the workers run as.
    user: str = ""
    # Where each fact came from: "docroot" -> "/etc/nginx/sites-enabled/blog:12".
    sources: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # ssl_certificate / ssl_certificate_key in force for the server block, paths absolute.
    tls: list[ConfigDirective] = field(default_factory=list)


@dataclass
class NginxServerBlock:
    """One `server` block with the config around it (what deploy derives a stage from)."""

    config_file: str
    top: list[Directive]
    http: Directive
    server: Directive
    # Directive blocks from http down to the location that passes PHP to FastCGI.
    php_chain: list[list[Directive]] = field(default_factory=list)

    @property
    def block(self) -> list[Directive]:
        return list(self.server.get("block", []))

    @property
    def fastcgi_pass(self) -> str:
        passed = last_args(self.php_chain[-1], "fastcgi_pass") if self.php_chain else None
        return passed[0] if passed else ""

    @property
    def fastcgi_servers(self) -> list[str]:
        upstreams = {
            d["args"][0]: [s["args"][0] for s in d.get("block", []) if s["directive"] == "server"]
            for d in self.http.get("block", [])
            if d["directive"] == "upstream" and d["args"]
        }
        target = self.fastcgi_pass
        return upstreams.get(target, [target] if target else [])

    @property
    def fastcgi_address(self) -> str:
        return next(iter(self.fastcgi_servers), self.fastcgi_pass)

    @property
    def script_filename(self) -> str:
        """The SCRIPT_FILENAME value PHP gets ('' when the config does not set one).

        nginx inherits `fastcgi_param`s from the enclosing level only when a level defines
        none of its own: the innermost level with any fastcgi_param wins.
        """
        for block in reversed(self.php_chain):
            params = [d for d in block if d["directive"] == "fastcgi_param" and d["args"]]
            if params:
                found = [d for d in params if d["args"][0] == "SCRIPT_FILENAME"]
                return " ".join(found[-1]["args"][1:]) if found else ""
        return ""

    @property
    def resolves_current_link(self) -> bool:
        """True when PHP is given the release's own path ($realpath_root), not `current/...`."""
        return "$realpath_root" in self.script_filename

    @property
    def open_file_cache(self) -> bool:
        """Whether nginx caches open files (and their paths) on the way to the site."""
        on = False
        for block in [self.http.get("block", []), *self.php_chain[1:]]:
            for d in block:
                if d["directive"] == "open_file_cache" and d["args"]:
                    on = d["args"][0] != "off"
        return on

    @property
    def pid_file(self) -> str:
        pid = last_args(self.top, "pid")
        return pid[0] if pid else DEFAULT_PID_FILE


@dataclass
class NginxConfig:
    """A whole nginx config, includes inlined, and what crossplane could not parse."""

    config_file: str
    top: list[Directive]
    problems: list[str]

    @property
    def http(self) -> Directive | None:
        return next((d for d in self.top if d["directive"] == "http"), None)

    @property
    def servers(self) -> list[Directive]:
        http = self.http or {}
        return [d for d in http.get("block", []) if d["directive"] == "server"]

    def server_for(self, port: int, host: str) -> NginxServerBlock | None:
        """The server block listening on `port` named `host`, else the first on `port`."""
        on_port = [s for s in self.servers if _listens_on(s, port)]
        named = [s for s in on_port if host in _flat(_all_args(s.get("block", []), "server_name"))]
        return self._block(next(iter(named or on_port), None))

    def server_with_root(self, docroot: str, port: int) -> NginxServerBlock | None:
        """The server block whose `root` is `docroot`, on `port` if several are."""
        wanted = os.path.normpath(docroot)

        def has_root(server: Directive) -> bool:
            root = last_args(server.get("block", []), "root")
            return root is not None and os.path.normpath(root[0]) == wanted

        rooted = [s for s in self.servers if has_root(s)]
        on_port = [s for s in rooted if _listens_on(s, port)]
        return self._block(next(iter(on_port or rooted), None))

    def _block(self, server: Directive | None) -> NginxServerBlock | None:
        http = self.http
        if server is None or http is None:
            return None
        chain = _php_chain(server.get("block", []), [http.get("block", [])])
        return NginxServerBlock(self.config_file, self.top, http, server, chain)


def read_nginx_config(path: str, files: ConfigFiles = LOCAL_FILES) -> NginxConfig:
    """The config with its includes inlined; parse errors as problems ("file:line: error").
    `files`: where the files are read (this machine's by default)."""
    with _bounded_crossplane(files) as reads:
        payload = crossplane.parse(path, check_ctx=False, check_args=False)
    problems = [
        f"{e.get('file')}:{e.get('line')}: {e.get('error')}" for e in payload.get("errors", [])
    ]
    if reads.binaries > MAX_BINARIES_SAID:
        more = reads.binaries - MAX_BINARIES_SAID
        problems.append(f"{path}: {more} more binary files matched by include globs: not read")
    parsed: list[dict[str, Any]] = payload.get("config") or []
    top = _inlined(parsed, parsed[0].get("parsed", []), path, frozenset({0})) if parsed else []
    return NginxConfig(path, top, problems)


def _inlined(
    files: list[dict[str, Any]], directives: list[Directive], name: str, active: frozenset[int]
) -> list[Directive]:
    """`directives` (written in file `name`) with includes replaced by the included files'
    directives, each labelled with the file it is written in. `active`: the files being
    inlined, so an include cycle is not followed."""
    result: list[Directive] = []
    for directive in directives:
        if "includes" in directive:
            for index in directive["includes"]:
                if index not in active and index < len(files):
                    included = files[index]
                    result += _inlined(
                        files,
                        included.get("parsed", []),
                        included.get("file", ""),
                        active | {index},
                    )
            continue
        labelled = {**directive, "file": name}
        if "block" in directive:
            labelled["block"] = _inlined(files, directive["block"], name, active)
        result.append(labelled)
    return result


def site_summary(config: NginxConfig, block: NginxServerBlock | None) -> NginxSite:
    """What diagnose reports of the site's server block (logs inherited as nginx does)."""
    site = NginxSite(config_file=config.config_file, problems=list(config.problems))
    if block is None:
        return site
    directives, http = block.block, block.http.get("block", [])
    site.listen = [args[0] for args in _all_args(directives, "listen") if args]
    site.server_name = " ".join(_flat(_all_args(directives, "server_name")))
    site.docroot = (last_args(directives, "root") or [""])[0]
    site.index = _flat(_all_args(directives, "index"))
    error = _inherited("error_log", [directives, http, [d for d in config.top if "block" not in d]])
    access = _inherited_args("access_log", [directives, http])
    site.error_log = error if error.startswith("/") else ""
    if access and access[0].startswith("/"):
        site.access_log = access[0]
        site.access_log_format = access_log_format(http, access)
    site.fastcgi_pass = block.fastcgi_pass
    site.fastcgi_servers = block.fastcgi_servers
    site.user = (last_args(config.top, "user") or [""])[0]
    site.tls = tls_directives(config, [directives, http])
    site.sources = _sources(
        {
            "server_name": [directives],
            "docroot": [directives],
            "error_log": [directives, http, config.top],
            "access_log": [directives, http],
            "web_user": [config.top],
        },
        config.config_file,
    )
    return site


TLS_FILE_DIRECTIVES = ("ssl_certificate", "ssl_certificate_key")


def tls_directives(config: NginxConfig, levels: list[list[Directive]]) -> list[ConfigDirective]:
    """ssl_certificate and ssl_certificate_key as the server block inherits them (the
    innermost level's last), relative paths taken from the config's directory (nginx's
    prefix for a config under /etc/nginx)."""
    found: list[ConfigDirective] = []
    base = os.path.dirname(config.config_file)
    for name in TLS_FILE_DIRECTIVES:
        for level in levels:
            hits = [d for d in level if d.get("directive") == name and d.get("args")]
            if hits:
                hit = hits[-1]
                args = [os.path.join(base, hit["args"][0]), *hit["args"][1:]]
                file = hit.get("file", config.config_file)
                found.append(ConfigDirective(file, int(hit.get("line", 0)), name, args))
                break
    return found


_DIRECTIVE_OF_FACT = {"docroot": "root", "web_user": "user"}


def _sources(levels_of_fact: dict[str, list[list[Directive]]], main_file: str) -> dict[str, str]:
    """Where each fact's directive is ("file:line"), from the innermost level that sets it."""
    found: dict[str, str] = {}
    for fact, levels in levels_of_fact.items():
        name = _DIRECTIVE_OF_FACT.get(fact, fact)
        for level in levels:
            hits = [d for d in level if d.get("directive") == name]
            if hits:
                found[fact] = f"{hits[-1].get('file', main_file)}:{hits[-1].get('line', 0)}"
                break
    return found


def lint_nginx_config(path: str) -> tuple[list[tuple[str, list[Directive]]], list[Directive]]:
    """([(file, its directives)], errors) with nginx's context checks, each error a dict
    with `file`, `line`, `error`: what `check` reports with file:line."""
    with _bounded_crossplane():
        payload: dict[str, Any] = crossplane.parse(path, catch_errors=True, comments=False)
    files = [(c.get("file", path), c.get("parsed", [])) for c in payload.get("config", [])]
    return files, list(payload.get("errors", []))


def last_args(block: list[Directive], name: str) -> list[str] | None:
    found = _all_args(block, name)
    return found[-1] if found else None


def _all_args(block: list[Directive], name: str) -> list[list[str]]:
    return [list(d["args"]) for d in block if d["directive"] == name]


def _inherited(name: str, levels: list[list[Directive]]) -> str:
    """The first argument of the innermost level's last `name` directive."""
    return next(iter(_inherited_args(name, levels)), "")


def _inherited_args(name: str, levels: list[list[Directive]]) -> list[str]:
    """The arguments of the innermost level's last `name` directive."""
    for level in levels:
        found = last_args(level, name)
        if found:
            return found
    return []


def log_formats(http: list[Directive]) -> dict[str, tuple[str, str]]:
    """`log_format NAME [escape=default|json|none] STRING...` of the http block: name ->
    (escape, the strings joined as nginx joins them)."""
    formats: dict[str, tuple[str, str]] = {}
    for args in _all_args(http, "log_format"):
        if len(args) < 2:
            continue
        escape, strings = "default", args[1:]
        if strings[0].startswith("escape="):
            escape, strings = strings[0].removeprefix("escape="), strings[1:]
        formats[args[0]] = (escape, "".join(strings))
    return formats


def access_log_format(http: list[Directive], access_log: list[str]) -> str:
    """An `access_log PATH [FORMAT ...]`'s format as a site config's access_log_format:
    "" for `combined` (nginx's default), else "nginx:[escape=E ]STRING"."""
    name = access_log[1] if len(access_log) > 1 and "=" not in access_log[1] else "combined"
    escape, fmt = log_formats(http).get(name, ("default", ""))
    if name == "combined" or not fmt:
        return ""
    return format_spec("nginx", fmt, escape)


def _listens_on(server: Directive, port: int) -> bool:
    return any(listen_port(args) == port for args in _all_args(server.get("block", []), "listen"))


def listen_port(args: list[str]) -> int | None:
    tail = args[0].rsplit(":", 1)[-1] if args else ""
    # isascii: "listen ²;" is not a port (str.isdigit() takes "²", int() refuses it)
    return int(tail) if tail.isascii() and tail.isdigit() else None


def _php_chain(block: list[Directive], chain: list[list[Directive]]) -> list[list[Directive]]:
    """The blocks from `block` down to the first one holding fastcgi_pass."""
    here = [*chain, block]
    if any(d["directive"] == "fastcgi_pass" for d in block):
        return here
    for d in block:
        if d["directive"] in ("location", "if") and "block" in d:
            found = _php_chain(d["block"], here)
            if found:
                return found
    return []


def _flat(groups: list[list[str]]) -> list[str]:
    return [item for group in groups for item in group]
