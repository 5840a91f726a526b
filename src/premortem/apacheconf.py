"""Read an Apache httpd configuration the way httpd reads it (without running httpd).

- `ServerRoot` (default: the main file's directory) anchors relative paths.
- `Include` / `IncludeOptional` with wildcards, in httpd's order (sorted matches);
  `Include` of nothing is a fatal startup error, `IncludeOptional` is not.
- `Define NAME [value]` / `UnDefine` and `${NAME}` substitution; Debian's
  `envvars` (the `export NAME=value` lines next to apache2.conf) are read first, as
  apache2ctl does.
- `<IfModule [!]mod>` against the modules loaded so far (`rewrite_module` or
  `mod_rewrite.c`), `<IfDefine [!]NAME>` against the defines; their bodies are skipped
  when false, like httpd does.

What comes out is a flat list of directives with their file, line and enclosing
sections, plus the loaded modules: enough for the server-config rule.

The pieces every reader of httpd config needs (logical lines, argument splitting, what an
Include names) are public here too, so that `check`'s rule, `diagnose`'s server collector
and `deploy`'s stage read httpd config the same way. Read-only: nothing here writes.
"""

from __future__ import annotations

import glob
import os
import re
import shlex
from dataclasses import dataclass, field

_VARIABLE = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
_ENV_EXPORT = re.compile(r"^\s*export\s+([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


@dataclass(frozen=True)
class Directive:
    name: str  # as written (case kept); compare with .lower()
    args: tuple[str, ...]
    file: str
    line: int
    # Enclosing sections, outermost first, e.g. (("VirtualHost", "*:80"), ("Directory", "/x"))
    sections: tuple[tuple[str, str], ...] = ()


@dataclass
class ApacheConfig:
    main_file: str
    server_root: str
    directives: list[Directive] = field(default_factory=list)
    modules: dict[str, str] = field(default_factory=dict)  # module name -> .so path
    defines: dict[str, str] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    # (file, line, message): includes of nothing, unreadable files, unbalanced sections
    problems: list[tuple[str, int, str, str]] = field(default_factory=list)

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


def include_matches(pattern: str) -> list[str]:
    """What an absolute Include pattern names, in httpd's order: the sorted wildcard
    matches, or the path itself when it exists (files and directories alike)."""
    if glob.has_magic(pattern):
        return sorted(glob.glob(pattern))
    return [pattern] if os.path.exists(pattern) else []


def directory_entries(directory: str) -> list[str]:
    """The entries of an included directory, in the order httpd reads them."""
    return sorted(glob.glob(os.path.join(directory, "*")))


def read_envvars(path: str) -> dict[str, str]:
    """The `export NAME=value` lines of Debian's /etc/apache2/envvars (SUFFIX is empty)."""
    values: dict[str, str] = {"SUFFIX": ""}
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.readlines()
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


class ApacheReader:
    def __init__(self, config: ApacheConfig) -> None:
        self.config = config
        self.depth = 0

    def substitute(self, text: str) -> str:
        defines = self.config.defines
        return _VARIABLE.sub(lambda m: defines.get(m.group(1), m.group(0)), text)

    def absolute(self, path: str) -> str:
        return path if os.path.isabs(path) else os.path.join(self.config.server_root, path)

    def read_file(self, path: str, sections: tuple[tuple[str, str], ...]) -> None:
        if self.depth > 32:
            self.config.problems.append((path, 0, "error", "Include nesting deeper than 32"))
            return
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                text = handle.read()
        except OSError as exc:
            self.config.problems.append((path, 0, "error", f"cannot read: {exc.strerror}"))
            return
        self.config.files.append(path)
        self.depth += 1
        try:
            self._read_lines(path, text.split("\n"), sections)
        finally:
            self.depth -= 1

    def _read_lines(
        self, path: str, lines: list[str], sections: tuple[tuple[str, str], ...]
    ) -> None:
        stack: list[tuple[str, str, bool]] = []  # (section, argument, active)
        for number, line in logical_lines(lines):
            active = all(entry[2] for entry in stack)
            if line.startswith("</"):
                name = line[2:].rstrip(">").strip()
                if not stack or stack[-1][0].lower() != name.lower():
                    self.config.problems.append((path, number, "error", f"unexpected </{name}>"))
                    continue
                stack.pop()
                continue
            if line.startswith("<"):
                body = line[1:].rstrip(">").strip()
                # httpd separates a name from its arguments with any whitespace (tabs too).
                name, argument = _split_name(body)
                argument = self.substitute(argument.strip()).strip('"')
                opens_active = active
                if active and name.lower() == "ifmodule":
                    negate = argument.startswith("!")
                    loaded = self.config.has_module(argument.lstrip("!"))
                    opens_active = loaded != negate
                elif active and name.lower() == "ifdefine":
                    negate = argument.startswith("!")
                    defined = argument.lstrip("!") in self.config.defines
                    opens_active = defined != negate
                stack.append((name, argument, opens_active))
                continue
            if not active:
                continue
            name, rest = _split_name(line)
            rest = self.substitute(rest.strip())
            args = split_args(rest)
            here = sections + tuple(
                (s, a) for s, a, _ in stack if s.lower() not in ("ifmodule", "ifdefine")
            )
            lowered = name.lower()
            if lowered == "define" and args:
                self.config.defines[args[0]] = args[1] if len(args) > 1 else ""
            elif lowered == "undefine" and args:
                self.config.defines.pop(args[0], None)
            elif lowered == "serverroot" and args:
                self.config.server_root = args[0]
            elif lowered == "loadmodule" and len(args) >= 2:
                self.config.modules[module_key(args[0])] = self.absolute(args[1])
            elif lowered in ("include", "includeoptional") and args:
                self.config.directives.append(Directive(name, args, path, number, here))
                pattern = self.absolute(args[0])
                matches = include_matches(pattern)
                if not matches and lowered == "include":
                    self.config.problems.append(
                        (
                            path,
                            number,
                            "error",
                            f"Include {args[0]}: no such file (httpd will not start)",
                        )
                    )
                for match in matches:
                    if os.path.isdir(match):
                        for child in directory_entries(match):
                            if os.path.isfile(child):
                                self.read_file(child, here)
                    else:
                        self.read_file(match, here)
                continue
            self.config.directives.append(Directive(name, args, path, number, here))
        for name, argument, _ in stack:
            self.config.problems.append(
                (path, len(lines), "error", f"<{name} {argument}> not closed")
            )


def read_apache_config(main_file: str, server_root: str | None = None) -> ApacheConfig:
    main_file = os.path.abspath(main_file)
    root = server_root or os.path.dirname(main_file)
    config = ApacheConfig(main_file=main_file, server_root=root)
    envvars = os.path.join(os.path.dirname(main_file), "envvars")
    if os.path.isfile(envvars):
        config.defines.update(read_envvars(envvars))
    ApacheReader(config).read_file(main_file, ())
    return config


def _split_name(text: str) -> tuple[str, str]:
    """A directive or section name and the rest, split at the first run of whitespace."""
    parts = text.split(None, 1)
    if not parts:
        return "", ""
    return parts[0], parts[1] if len(parts) > 1 else ""
