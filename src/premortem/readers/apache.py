"""Read an Apache httpd configuration the way httpd reads it (without running httpd).

- `ServerRoot` (default: the main file's directory) anchors relative paths.
- `Include` / `IncludeOptional` with wildcards, in httpd's order (sorted matches; an
  included directory's files sorted); `Include` of nothing is a fatal startup error,
  `IncludeOptional` is not.
- `Define NAME [value]` / `UnDefine` and `${NAME}` substitution; Debian's `envvars` (the
  `export NAME=value` lines in the server root) are read first, as apache2ctl does.
- `<IfModule [!]mod>` against the modules loaded so far (`rewrite_module` or
  `mod_rewrite.c`), `<IfDefine [!]NAME>` against the defines; their bodies are skipped when
  false, like httpd does (unless the caller asks to read every branch).
- logical lines: backslash continuations joined, tabs as whitespace, comments dropped.
- bounded: an Include cycle, nesting deeper than 32, more than 500 files or a file over
  8 MiB is a problem on the list, not a hang.

What comes out is a flat list of directives with their file, line, enclosing sections and
virtual host, plus the loaded modules and the virtual hosts; `site_summary` turns it into
what diagnose needs for the site at host:port, its access log's format among it: the
`CustomLog` of the virtual host, else the main server's (Debian's
conf-enabled/other-vhosts-access-log.conf), its `LogFormat` nickname resolved
(`log_formats`, `custom_log_format`). Read-only: nothing here writes.
"""

from __future__ import annotations

import glob
import os
import re
import shlex
from dataclasses import dataclass, field

from premortem.accesslog import DEBIAN_APACHE_FORMATS, format_spec
from premortem.readers.files import LOCAL_FILES, ConfigFiles, size_text
from premortem.readers.phpini import LOG_SETTINGS, ini_logging_settings, mod_php_inis

_VARIABLE = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
_ENV_EXPORT = re.compile(r"^\s*export\s+([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_QUOTING = re.compile(r"[\"'\\]")
_SHLEX_SPACE = re.compile(r"[ \t\r\n]+")  # shlex's whitespace, not str.split()'s
MAX_DEPTH = 32
MAX_FILES = 500
MAX_FILE_BYTES = 8 * 1024 * 1024
# A logical line longer than this is not a directive (an `Include /*` reaching /proc/kcore
# had shlex split megabyte-long "lines" for minutes).
MAX_LINE_CHARS = 64 * 1024
# All the files one config reads together (Debian's whole configuration is about 100 KiB):
# `IncludeOptional /*` read 500 files of logs and data, 30 s of decoding and shlex, before it.
MAX_TOTAL_BYTES = 16 * 1024 * 1024
# Files an Include may open, binaries skipped included (a wildcard over /usr/bin opens many).
MAX_OPENED = 2000
# Binary files named one by one; the others are counted in one message.
MAX_BINARIES_SAID = 10
CONDITIONS = ("ifmodule", "ifdefine")


@dataclass(frozen=True)
class Directive:
    name: str  # as written (case kept); compare with .lower()
    args: tuple[str, ...]
    file: str
    line: int
    # Enclosing sections, outermost first, e.g. (("VirtualHost", "*:80"), ("Directory", "/x"))
    sections: tuple[tuple[str, str], ...] = ()
    # The enclosing <VirtualHost>, as "ADDRESSES (file:line)"; "" in the main server.
    vhost: str = ""


@dataclass
class ApacheConfig:
    main_file: str
    server_root: str
    directives: list[Directive] = field(default_factory=list)
    modules: dict[str, str] = field(default_factory=dict)  # module name -> .so path
    defines: dict[str, str] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    # Each <VirtualHost> ("ADDRESSES (file:line)") and its addresses.
    vhosts: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # (file, line, severity, message): includes of nothing, unreadable files, unbalanced sections
    problems: list[tuple[str, int, str, str]] = field(default_factory=list)
    # Where its files were read (php.ini files are read from there too).
    source: ConfigFiles = field(default=LOCAL_FILES, repr=False, compare=False)

    def has_module(self, name: str) -> bool:
        return module_key(name) in self.modules

    def named(self, name: str) -> list[Directive]:
        lowered = name.lower()
        return [d for d in self.directives if d.name.lower() == lowered]


def module_key(name: str) -> str:
    """`mod_rewrite.c`, `rewrite_module` and `rewrite` all become `rewrite`."""
    name = name.strip()
    if name.startswith("mod_") and name.endswith(".c"):
        return name[4:-2]
    if name.endswith("_module"):
        return name[: -len("_module")]
    return name


def split_args(text: str) -> tuple[str, ...]:
    """A directive's arguments, quotes honoured (httpd's rules are close to the shell's)."""
    if not _QUOTING.search(text):  # most directives: shlex's own split, 50 times faster
        return tuple(word for word in _SHLEX_SPACE.split(text) if word)
    try:
        return tuple(shlex.split(text, comments=False, posix=True))
    except ValueError:
        return tuple(text.split())


def logical_lines(lines: list[str]) -> list[tuple[int, str]]:
    """(first line number, text) of each directive line: backslash continuations joined,
    blank lines and comments dropped, as httpd reads them."""
    result: list[tuple[int, str]] = []
    buffer, start = "", 0
    for number, raw in enumerate(lines, 1):
        line = raw.rstrip("\r")
        if not buffer:
            start = number
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        buffer += line
        stripped = buffer.strip()
        buffer = ""
        if stripped and not stripped.startswith("#"):
            result.append((start, stripped))
    return result


def include_matches(pattern: str, files: ConfigFiles = LOCAL_FILES) -> list[str]:
    """What an absolute Include pattern names, in httpd's order: the sorted wildcard
    matches, or the path itself when it exists (files and directories alike)."""
    if "\0" in pattern:  # no file name holds one (and os calls refuse it with ValueError)
        return []
    if glob.has_magic(pattern):
        return files.glob(pattern)
    return [pattern] if files.exists(pattern) else []


def included_files(pattern: str, files: ConfigFiles = LOCAL_FILES) -> list[str]:
    """The files an absolute Include pattern reads, in httpd's order: an included
    directory stands for its files."""
    found: list[str] = []
    for match in include_matches(pattern, files):
        if files.is_dir(match):
            inside = files.glob(os.path.join(match, "*"))
            found += [f for f in inside if files.is_file(f)]
        else:
            found.append(match)
    return found


def read_envvars(path: str, files: ConfigFiles = LOCAL_FILES) -> dict[str, str]:
    """The `export NAME=value` lines of Debian's /etc/apache2/envvars (SUFFIX is empty)."""
    values: dict[str, str] = {"SUFFIX": ""}
    try:
        lines = files.read_text(path, MAX_FILE_BYTES).splitlines(keepends=True)
    except OSError:
        return {}
    for line in lines:
        match = _ENV_EXPORT.match(line)
        if match:
            value = match.group(2).strip().strip("'\"")
            value = re.sub(
                r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: values.get(m.group(1), ""), value
            )
            values[match.group(1)] = value
    values.pop("SUFFIX")
    return values


def read_text_bounded(
    path: str, limit: int = MAX_FILE_BYTES, files: ConfigFiles = LOCAL_FILES
) -> str:
    """A config file's text; OSError when it cannot be read or is over `limit` bytes. A
    binary file (a NUL in its first SNIFF_BYTES) is not read further: its text is those first
    bytes, NUL included, for the caller to refuse."""
    return files.read_text(path, limit)


_size_text = size_text

EXHAUSTED = (
    f"the config reaches more than {MAX_FILES} files, {MAX_OPENED} opened or "
    f"{_size_text(MAX_TOTAL_BYTES)} in all (an Include wildcard too wide?): this "
    "file and the ones after it not read"
)


class ReadBudget:
    """What all the files one config reads together may cost (MAX_FILES read, MAX_OPENED
    opened, MAX_TOTAL_BYTES): an `Include /*` is bounded, wherever it is read from."""

    def __init__(self, files: ConfigFiles) -> None:
        self.files = files
        self.taken = 0  # files whose lines were read
        self.opened = 0
        self.bytes_read = 0
        self.said_spent = False  # the problem saying so is given once
        self.binaries = 0  # files holding NUL bytes (an Include wildcard over binaries)

    def binary(self, path: str, problems: list[tuple[str, int, str, str]]) -> None:
        """Count a binary file; the first MAX_BINARIES_SAID are named (see more_binaries)."""
        self.binaries += 1
        if self.binaries <= MAX_BINARIES_SAID:
            problems.append((path, 0, "error", "holds NUL bytes: not a config file"))

    def more_binaries(self, main_file: str, problems: list[tuple[str, int, str, str]]) -> None:
        if self.binaries > MAX_BINARIES_SAID:
            more = self.binaries - MAX_BINARIES_SAID
            message = f"{more} more binary files matched by Include wildcards: not read"
            problems.append((main_file, 0, "error", message))

    def spent(self) -> bool:
        return (
            self.taken >= MAX_FILES
            or self.opened >= MAX_OPENED
            or self.bytes_read >= MAX_TOTAL_BYTES
        )

    def read(self, path: str) -> str | None:
        """The file's text, within what is left; None when that is less than the file
        (the budget is spent then). OSError when it cannot be read."""
        self.opened += 1
        remaining = MAX_TOTAL_BYTES - self.bytes_read
        try:
            text = read_text_bounded(path, min(MAX_FILE_BYTES, remaining), self.files)
        except OSError as exc:
            if exc.errno == 0 and remaining < MAX_FILE_BYTES:  # over what is left in all
                self.bytes_read = MAX_TOTAL_BYTES
                return None
            raise
        self.bytes_read += len(text)
        return text


@dataclass
class _Section:
    name: str
    argument: str
    active: bool
    vhost: str


class ApacheReader:
    """Reads files into an ApacheConfig. `evaluate_conditions`: skip the bodies of false
    <IfModule>/<IfDefine> sections as httpd does; False reads every branch."""

    def __init__(
        self,
        config: ApacheConfig,
        evaluate_conditions: bool = True,
        files: ConfigFiles = LOCAL_FILES,
    ) -> None:
        self.config = config
        self.files = files
        self.evaluate_conditions = evaluate_conditions
        self.reading: list[str] = []  # the include chain, outermost first
        self.budget = ReadBudget(files)
        # Set when a bound on the whole config was reached: said once, nothing more read.
        self.exhausted = False

    def substitute(self, text: str) -> str:
        defines = self.config.defines
        return _VARIABLE.sub(lambda m: defines.get(m.group(1), m.group(0)), text)

    def absolute(self, path: str) -> str:
        return path if os.path.isabs(path) else os.path.join(self.config.server_root, path)

    def read_file(self, path: str, sections: tuple[tuple[str, str], ...], vhost: str = "") -> None:
        if not self._may_read(path):
            return
        try:
            text = self.budget.read(path)
        except OSError as exc:
            self.config.problems.append((path, 0, "error", f"cannot read: {exc.strerror}"))
            return
        if text is None:
            self._may_read(path)  # says so, once
            return
        if "\0" in text:  # a binary file an Include wildcard matched
            self.budget.binary(path, self.config.problems)
            return
        self.config.files.append(path)
        self.budget.taken += 1
        self.reading.append(path)
        try:
            self._read_lines(path, text.split("\n"), sections, vhost)
        finally:
            self.reading.pop()

    def _may_read(self, path: str) -> bool:
        problem = ""
        if path in self.reading:
            problem = "Include cycle: " + " -> ".join([*self.reading, path])
        elif len(self.reading) >= MAX_DEPTH:
            problem = f"Include nesting deeper than {MAX_DEPTH}"
        elif self.exhausted:
            return False  # said once, at the first file not read
        elif self.budget.spent():
            self.exhausted = True
            problem = EXHAUSTED
        if problem:
            self.config.problems.append((path, 0, "error", problem))
        return not problem

    def _read_lines(
        self, path: str, lines: list[str], sections: tuple[tuple[str, str], ...], vhost: str
    ) -> None:
        stack: list[_Section] = []
        for number, line in logical_lines(lines):
            if len(line) > MAX_LINE_CHARS:
                message = f"a line over {MAX_LINE_CHARS // 1024} KiB: not read"
                self.config.problems.append((path, number, "error", message))
                continue
            active = all(entry.active for entry in stack)
            current_vhost = stack[-1].vhost if stack else vhost
            if line.startswith("</"):
                self._close(stack, path, number, line[2:].rstrip(">").strip())
            elif line.startswith("<"):
                stack.append(self._open(line, path, number, active, current_vhost))
            elif active:
                here = sections + tuple(
                    (s.name, s.argument) for s in stack if s.name.lower() not in CONDITIONS
                )
                self._directive(line, path, number, here, current_vhost)
        for entry in stack:
            message = f"<{entry.name} {entry.argument}> not closed"
            self.config.problems.append((path, len(lines), "error", message))

    def _close(self, stack: list[_Section], path: str, number: int, name: str) -> None:
        if not stack or stack[-1].name.lower() != name.lower():
            self.config.problems.append((path, number, "error", f"unexpected </{name}>"))
        else:
            stack.pop()

    def _open(self, line: str, path: str, number: int, active: bool, vhost: str) -> _Section:
        # httpd separates a name from its arguments with any whitespace (tabs too).
        name, argument = _split_name(line[1:].rstrip(">").strip())
        argument = self.substitute(argument.strip()).strip('"')
        opens_active = active
        negate = argument.startswith("!")
        if active and self.evaluate_conditions and name.lower() == "ifmodule":
            opens_active = self.config.has_module(argument.lstrip("!")) != negate
        elif active and self.evaluate_conditions and name.lower() == "ifdefine":
            opens_active = (argument.lstrip("!") in self.config.defines) != negate
        if active and name.lower() == "virtualhost":
            vhost = f"{argument} ({path}:{number})"
            self.config.vhosts[vhost] = split_args(argument)
        return _Section(name, argument, opens_active, vhost)

    def _directive(
        self, line: str, path: str, number: int, here: tuple[tuple[str, str], ...], vhost: str
    ) -> None:
        name, rest = _split_name(line)
        args = split_args(self.substitute(rest.strip()))
        lowered = name.lower()
        if lowered == "define" and args:
            self.config.defines[args[0]] = args[1] if len(args) > 1 else ""
        elif lowered == "undefine" and args:
            self.config.defines.pop(args[0], None)
        elif lowered == "serverroot" and args:
            self.config.server_root = args[0]
        elif lowered == "loadmodule" and len(args) >= 2:
            self.config.modules[module_key(args[0])] = self.absolute(args[1])
        self.config.directives.append(Directive(name, args, path, number, here, vhost))
        if lowered in ("include", "includeoptional") and args:
            self._include(args[0], lowered == "include", path, number, here, vhost)

    def _include(
        self,
        pattern: str,
        required: bool,
        path: str,
        number: int,
        here: tuple[tuple[str, str], ...],
        vhost: str,
    ) -> None:
        files = included_files(self.absolute(pattern), self.files)
        if not files and required:
            message = f"Include {pattern}: no such file (httpd will not start)"
            self.config.problems.append((path, number, "error", message))
        for included in files:
            self.read_file(included, here, vhost)


def read_apache_config(
    main_file: str,
    server_root: str | None = None,
    *,
    defines: dict[str, str] | None = None,
    evaluate_conditions: bool = True,
    files: ConfigFiles = LOCAL_FILES,
) -> ApacheConfig:
    """`defines`: variables set before the first line (a master's environment, its -D
    names), after Debian's envvars of the server root. `files`: where the files are read
    (this machine's by default)."""
    main_file = os.path.abspath(main_file)
    root = server_root or os.path.dirname(main_file)
    config = ApacheConfig(main_file=main_file, server_root=root, source=files)
    envvars = os.path.join(root, "envvars")
    if files.is_file(envvars):
        config.defines.update(read_envvars(envvars, files))
    config.defines.update(defines or {})
    reader = ApacheReader(config, evaluate_conditions, files)
    reader.read_file(main_file, ())
    reader.budget.more_binaries(main_file, config.problems)
    return config


def _split_name(text: str) -> tuple[str, str]:
    """A directive or section name and the rest, split at the first run of whitespace."""
    parts = text.split(None, 1)
    if not parts:
        return "", ""
    return parts[0], parts[1] if len(parts) > 1 else ""


def inline_includes(
    main_file: str, default_root: str, files: ConfigFiles = LOCAL_FILES
) -> tuple[str, list[str], list[tuple[str, int, str, str]]]:
    """(server root, logical lines, problems) of a config with every Include and
    IncludeOptional replaced by the lines of the files it names, for a derived config httpd
    will read: nothing else is evaluated (variables, conditions stay as written). The server
    root is the main file's ServerRoot, else `default_root`."""
    problems: list[tuple[str, int, str, str]] = []
    try:
        text = read_text_bounded(main_file, files=files)
    except OSError as exc:
        return default_root, [], [(main_file, 0, "error", f"cannot read: {exc.strerror}")]
    if "\0" in text:
        return default_root, [], [(main_file, 0, "error", "holds NUL bytes: not a config file")]
    first = logical_lines(text.split("\n"))
    roots = [split_args(text)[1:] for _, text in first if _is_named(text, "serverroot")]
    root = next((args[0] for args in roots if args), default_root)
    lines: list[str] = []
    budget = ReadBudget(files)
    budget.taken = 1  # the main file
    _inline(main_file, first, root, [main_file], lines, problems, budget)
    budget.more_binaries(main_file, problems)
    return root, lines, problems


def _inline(
    path: str,
    logical: list[tuple[int, str]],
    root: str,
    chain: list[str],
    out: list[str],
    problems: list[tuple[str, int, str, str]],
    budget: ReadBudget,
) -> None:
    files = budget.files
    for number, text in logical:
        if not (_is_named(text, "include") or _is_named(text, "includeoptional")):
            out.append(text)
            continue
        args = split_args(text)[1:]
        pattern = args[0] if args else ""
        found = included_files(
            pattern if os.path.isabs(pattern) else os.path.join(root, pattern), files
        )
        if not found and _is_named(text, "include"):
            problems.append((path, number, "error", f"Include {pattern}: no such file"))
        for included in found:
            if included in chain or len(chain) >= MAX_DEPTH:
                problems.append((included, 0, "error", "Include cycle or nesting too deep"))
                continue
            try:
                read = None if budget.spent() else budget.read(included)
            except OSError as exc:
                problems.append((included, 0, "error", f"cannot read: {exc.strerror}"))
                continue
            if read is None:  # nor the files after it: said once
                if not budget.said_spent:
                    problems.append((included, 0, "error", EXHAUSTED))
                    budget.said_spent = True
                continue
            if "\0" in read:  # a binary file an Include wildcard matched
                budget.binary(included, problems)
                continue
            budget.taken += 1
            lines = [
                (n, line)
                for n, line in logical_lines(read.split("\n"))
                if len(line) <= MAX_LINE_CHARS
            ]
            _inline(included, lines, root, [*chain, included], out, problems, budget)


def _is_named(text: str, lowered_name: str) -> bool:
    return _split_name(text)[0].lower() == lowered_name


# ---------------------------------------------------------------- the site at host:port

REDIRECT_DIRECTIVES = ("rewriterule", "redirect", "redirectmatch", "redirectpermanent")
PHP_SETTING_DIRECTIVES = ("php_flag", "php_admin_flag", "php_value", "php_admin_value")


@dataclass
class ConfigDirective:
    """One directive of the server config with where it is (for findings with file:line)."""

    file: str
    line: int
    directive: str
    args: list[str] = field(default_factory=list)


@dataclass
class FcgiHandler:
    """A directive handing PHP to a FastCGI server (php-fpm) through mod_proxy_fcgi.

    `address` is what php-fpm's `listen` would say it as: "unix:/run/php/php8.2-fpm.sock"
    or "127.0.0.1:9000" (parsed by readers/apache_handler.py)."""

    address: str
    directive: str
    # The arguments as written, e.g. ["proxy:unix:/run/php/php8.2-fpm.sock|fcgi://localhost"].
    args: list[str]
    file: str
    line: int
    # The files it applies to: the enclosing <FilesMatch>/<Files> pattern, ProxyPassMatch's
    # regex, AddHandler's extensions, or "" (every file of its scope).
    applies_to: str = ""
    # "filesmatch" or "files" for a SetHandler in such a section, else "".
    section: str = ""

    @property
    def at(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def text(self) -> str:
        """The directive as a config line (quoted where it has spaces or pipes)."""
        quoted = [f'"{a}"' if any(c in a for c in " |") else a for a in self.args]
        return " ".join([self.directive, *quoted])


@dataclass
class ApacheSite:
    """What the Apache config says about the site served at the URL."""

    config_file: str = ""
    server_root: str = ""
    listen: list[str] = field(default_factory=list)
    # Where each Listen directive is ("file:line"), in the order of `listen`.
    listen_at: list[str] = field(default_factory=list)
    vhost: str = ""
    server_name: str = ""
    docroot: str = ""
    # ServerAlias names of the vhost (what a shared access log's %v may be besides ServerName).
    server_aliases: list[str] = field(default_factory=list)
    error_log: str = ""
    access_log: str = ""
    # How `access_log` is written, as a site config's access_log_format ("apache:%h %l ...");
    # "" when there is no CustomLog.
    access_log_format: str = ""
    directory_index: list[str] = field(default_factory=list)
    php_module_loaded: bool = False
    php_handler: bool = False
    # PHP handed to php-fpm (SetHandler/AddHandler "proxy:...fcgi://", ProxyPassMatch
    # fcgi://), the one in effect for .php files first; empty with mod_php.
    fcgi_handlers: list[FcgiHandler] = field(default_factory=list)
    allow_override: str = ""
    # RewriteRule/Redirect* directives of the server config (global or the chosen vhost).
    redirects: list[ConfigDirective] = field(default_factory=list)
    php_settings: dict[str, str] = field(default_factory=dict)
    # From `apache2 -M` with the same -d/-f/-D: what the binary really loads.
    loaded_modules: list[str] = field(default_factory=list)
    # `User` (after ${VAR} substitution): whom the workers run as.
    user: str = ""
    # Where each fact came from: "docroot" -> "/etc/apache2/sites-enabled/blog.conf:4".
    sources: dict[str, str] = field(default_factory=dict)
    # The TLS directives in force for the site (SSLEngine, SSLCertificate*), paths absolute.
    tls: list[ConfigDirective] = field(default_factory=list)
    files_read: int = 0
    problems: list[str] = field(default_factory=list)


def site_summary(config: ApacheConfig, port: int, host: str) -> ApacheSite:
    """The virtual host serving host:port (by ServerName/ServerAlias, else the first for
    the port) and what the config says about it; the main server's settings fill in."""
    site = ApacheSite(config_file=config.main_file, server_root=config.server_root)
    site.files_read = len(config.files)
    site.problems = [_problem_text(*problem) for problem in config.problems]
    for d in config.named("Listen"):
        if d.args:
            site.listen.append(d.args[0])
            site.listen_at.append(f"{d.file}:{d.line}")
    site.vhost = _vhost_for(config, port, host)
    lowered = [(d.name.lower(), d) for d in config.directives]
    site.php_module_loaded = any(
        n == "loadmodule" and len(d.args) >= 2 and "php" in d.args[0] for n, d in lowered
    )
    site.php_handler = any(
        n in ("sethandler", "addhandler", "addtype") and any("php" in a.lower() for a in d.args)
        for n, d in lowered
    )
    _fill_from_directives(site, config)
    site.php_settings = php_settings(config, site.vhost)
    site.tls = tls_directives(config, site.vhost)
    return site


TLS_DIRECTIVES = (
    "sslengine",
    "sslcertificatefile",
    "sslcertificatekeyfile",
    "sslcertificatechainfile",
)
TLS_FILE_DIRECTIVES = TLS_DIRECTIVES[1:]


def tls_directives(config: ApacheConfig, vhost: str) -> list[ConfigDirective]:
    """The TLS directives in force for `vhost`: its own, else the main server's (each name
    once, the last one winning as in httpd), file paths made absolute."""
    found: dict[str, ConfigDirective] = {}
    for scope in ("", vhost) if vhost else ("",):
        for d in config.directives:
            name = d.name.lower()
            if d.vhost == scope and name in TLS_DIRECTIVES and d.args:
                args = list(d.args)
                if name in TLS_FILE_DIRECTIVES:
                    args[0] = _absolute(args[0], config.server_root)
                found[name] = ConfigDirective(d.file, d.line, d.name, args)
    return [found[name] for name in TLS_DIRECTIVES if name in found]


def _fill_from_directives(site: ApacheSite, config: ApacheConfig) -> None:
    def pick(name: str) -> Directive | None:
        named = [d for d in config.named(name) if d.args]
        found = [d for d in named if site.vhost and d.vhost == site.vhost] or [
            d for d in named if not d.vhost
        ]
        return found[-1] if found else None

    root, index, name = pick("DocumentRoot"), pick("DirectoryIndex"), pick("ServerName")
    user = pick("User")
    site.user = user.args[0] if user else ""
    site.docroot = root.args[0] if root else ""
    site.directory_index = list(index.args) if index else []
    site.server_name = name.args[0] if name else ""
    error, custom = pick("ErrorLog"), pick("CustomLog")
    if error and not error.args[0].startswith(("|", "syslog")):
        site.error_log = _absolute(error.args[0], config.server_root)
    if custom and not custom.args[0].startswith("|"):
        site.access_log = _absolute(custom.args[0], config.server_root)
        site.access_log_format = custom_log_format(config, custom)
    site.server_aliases = [
        a
        for d in config.named("ServerAlias")
        if site.vhost and d.vhost == site.vhost
        for a in d.args
    ]
    site.redirects = [
        ConfigDirective(d.file, d.line, d.name.lower(), list(d.args))
        for d in config.directives
        if d.name.lower() in REDIRECT_DIRECTIVES and d.vhost in ("", site.vhost)
    ]
    picked = {"docroot": root, "server_name": name, "error_log": error, "access_log": custom}
    site.sources = {fact: f"{d.file}:{d.line}" for fact, d in picked.items() if d is not None}
    if user:
        site.sources["web_user"] = f"{user.file}:{user.line}"
    override = [d for d in config.named("AllowOverride") if d.args]
    site.allow_override = override[-1].args[0] if override else ""


def log_formats(config: ApacheConfig, vhost: str = "") -> dict[str, str]:
    """`LogFormat "FORMAT" nickname` definitions: the main server's, then the vhost's own
    (a LogFormat inside a <VirtualHost> is seen there only)."""
    formats: dict[str, str] = {}
    for d in config.named("LogFormat"):
        if len(d.args) >= 2 and d.vhost in ("", vhost):
            formats[d.args[1]] = d.args[0]
    return formats


def custom_log_format(config: ApacheConfig, custom: Directive) -> str:
    """A CustomLog's format as a site config's access_log_format: a Debian nickname
    (`vhost_combined`, `combined`...) when it means Debian's own LogFormat (also when the
    config does not define it), else its nickname resolved, else the inline string."""
    if len(custom.args) < 2:
        return ""
    written = custom.args[1]
    defined = log_formats(config, custom.vhost).get(written)
    debian = DEBIAN_APACHE_FORMATS.get(written) if "%" not in written else None
    if debian is not None and defined in (None, debian):
        # The nickname, as the docs and people write it in premortem.toml (the expanded
        # string means the same and reads worse).
        return written
    return format_spec("apache", written if defined is None else defined)


def _vhost_for(config: ApacheConfig, port: int, host: str) -> str:
    candidates = [
        vhost
        for vhost, addresses in config.vhosts.items()
        if any(address_port(a) in (port, None) for a in addresses)
    ]
    names: dict[str, list[str]] = {}
    for d in config.directives:
        if d.vhost and d.name.lower() in ("servername", "serveralias"):
            names.setdefault(d.vhost, []).extend(a.split(":")[0] for a in d.args)
    named = [vhost for vhost in candidates if host in names.get(vhost, [])]
    return (named or candidates or [""])[0]


def php_settings(config: ApacheConfig, vhost: str) -> dict[str, str]:
    """log_errors / display_errors / error_log for mod_php: php.ini, then Apache overrides
    (the main server's and the virtual host's)."""
    settings = ini_logging_settings(mod_php_inis(config.source), config.source)
    for d in config.directives:
        if (
            d.name.lower() in PHP_SETTING_DIRECTIVES
            and len(d.args) >= 2
            and d.vhost in ("", vhost)
            and d.args[0] in LOG_SETTINGS
        ):
            settings[d.args[0]] = d.args[1]
    return settings


def address_port(address: str) -> int | None:
    """The port of a Listen/VirtualHost address ("127.0.0.1:8080", "*:80"); None if none."""
    tail = address.rsplit(":", 1)
    if len(tail) == 2 and tail[1].isascii() and tail[1].isdigit():  # not "*:²"
        return int(tail[1])
    return None


def _absolute(path: str, server_root: str) -> str:
    return path if os.path.isabs(path) else os.path.join(server_root, path)


def _problem_text(file: str, line: int, _severity: str, message: str) -> str:
    return f"{file}:{line}: {message}" if line else f"{file}: {message}"
