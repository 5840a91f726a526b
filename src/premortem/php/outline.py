"""PHP's own parser as check's syntax test, and the outline that tells tree-sitter what to skip.

Parsing every byte of a tree with tree-sitter was the floor of a cold `check` (1.3 s of
CPU for WordPress). Most of those bytes cannot change what check reports: a function body
without an include, a define() or a path guard holds nothing the include analysis reads,
and a file without any of them only needs its syntax checked. So one long-lived `php`
process per parser process (`outline.php`, fed file contents through a pipe) does two
things per file at once:

- the syntax test, with the installed PHP's own parser (`token_get_all(..., TOKEN_PARSE)`:
  the ParseError `php -l` prints, without a process per file);
- the outline: whether the file holds a token the analysis reads, and the byte ranges of
  the function bodies that hold none (file_exists()-like guards are read only in a file
  with an include: a guard only says whether its file's includes are guarded).

tree-sitter then parses only the relevant files, with those bodies left out (an empty
`{}` in their place, so the rest of the tree is the same), and a file whose only such
tokens are const declarations not at all until an include asks for one of the names
(php.constants). On WordPress 6 that is 23 % of the bytes. Without a working `php` (not
installed, `--no-php`, a crash, a timeout) a file is parsed whole by tree-sitter as before:
the outline only ever saves work.
"""

from __future__ import annotations

import os
import select
import struct
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from premortem.php.settings import installed_php

# A file tokenizes in milliseconds (1 MB: 30 ms); this only bounds a wedged process.
FILE_TIMEOUT_SECONDS = 20.0
# After this many failures in one process, stop asking php (and stop paying for it).
MAX_FAILURES = 3
_LENGTH = struct.Struct(">I")
# outline.php needs PhpToken and PHP 8's name tokens.
MIN_VERSION_ID = 80000
# How findings name the syntax test of this module.
PHP_PARSER = "php's parser"


@dataclass(frozen=True)
class Outline:
    """What PHP says about one file's source."""

    # PHP's ParseError: (message, line); None when the file parses.
    error: tuple[str, int] | None
    # The file holds an include, const, define(), chdir() or include_path setter (a
    # file_exists()-like guard only counts beside an include: it guards that include).
    relevant: bool = True
    # (start, end) byte offsets of the function bodies tree-sitter may skip, in order.
    skips: tuple[tuple[int, int], ...] = ()
    # (offset, word) of each token the facts hang on: include, require, const or call.
    spots: tuple[tuple[int, bytes], ...] = ()
    # When the file's only needles are const declarations: the names they declare (the
    # file is then parsed only if an include asks for one, see php.constants).
    constant_names: tuple[str, ...] | None = None


_SPOT_WORDS = {b"i": b"include", b"r": b"require", b"c": b"const", b"f": b"call"}


def parse_answer(line: bytes) -> Outline | None:
    """One answer line of outline.php; None if it is not one."""
    kind, _, rest = line.rstrip(b"\n").partition(b" ")
    if kind == b"E":
        number, _, message = rest.partition(b" ")
        if not number.isdigit():
            return None
        return Outline((message.decode("utf-8", "replace"), int(number)), relevant=True)
    ranges, _, spotted = rest.partition(b" | ")
    spotted, named, names = spotted.partition(b" | ")
    fields = ranges.split(b" ")
    if kind != b"O" or not all(f.isdigit() for f in fields) or len(fields) % 2 != 1:
        return None
    numbers = [int(field) for field in fields[1:]]
    words = spotted.split(b" ") if spotted else []
    if len(words) % 2 or not all(w.isdigit() for w in words[::2]):
        return None
    if any(w not in _SPOT_WORDS for w in words[1::2]):
        return None
    return Outline(
        None,
        relevant=fields[0] == b"1",
        skips=tuple(zip(numbers[::2], numbers[1::2], strict=True)),
        spots=tuple((int(o), _SPOT_WORDS[w]) for o, w in zip(words[::2], words[1::2], strict=True)),
        constant_names=(
            tuple(n.decode("utf-8", "surrogateescape") for n in names.split(b" ") if n)
            if named
            else None
        ),
    )


class PhpOutliner:
    """A `php outline.php` process of this process, restarted when it fails."""

    def __init__(self, command: Sequence[str]) -> None:
        self._command = list(command)  # php and its options (php.settings)
        self._proc: subprocess.Popen[bytes] | None = None
        self.failures = 0

    def outline(self, source: bytes) -> Outline | None:
        """PHP's verdict and outline of `source`; None when php could not give one."""
        if self.failures >= MAX_FAILURES:
            return None
        try:
            proc = self._proc if self._proc is not None else self._start()
            self._send(proc, _LENGTH.pack(len(source)) + source)
            answer = parse_answer(self._receive(proc))
        except (OSError, TimeoutError, ValueError):
            answer = None
        if answer is None:
            self.failures += 1
            self.close()  # a wedged or dead process is replaced for the next file
        return answer

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()
        if proc.poll() is None:
            proc.kill()
        proc.wait()

    def _start(self) -> subprocess.Popen[bytes]:
        # Beside this module (not importlib.resources: its readers and zipfile cost
        # 2 ms of start-up in each parser process).
        script = Path(__file__).with_name("outline.php")
        self._proc = subprocess.Popen(
            [
                *self._command,
                *("-d", "display_errors=stderr", "-d", "log_errors=0"),
                *("-d", "memory_limit=1G", "-d", "opcache.enable_cli=0"),
                str(script),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            bufsize=0,
            close_fds=True,
        )
        assert self._proc.stdin is not None
        os.set_blocking(self._proc.stdin.fileno(), False)
        return self._proc

    @staticmethod
    def _send(proc: subprocess.Popen[bytes], data: bytes) -> None:
        assert proc.stdin is not None
        fd = proc.stdin.fileno()
        deadline = time.monotonic() + FILE_TIMEOUT_SECONDS
        view = memoryview(data)
        while view:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([], [fd], [], remaining)[1]:
                raise TimeoutError("php does not read")
            view = view[os.write(fd, view) :]

    @staticmethod
    def _receive(proc: subprocess.Popen[bytes]) -> bytes:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        deadline = time.monotonic() + FILE_TIMEOUT_SECONDS
        chunks: list[bytes] = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise TimeoutError("php does not answer")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise OSError("php ended")
            chunks.append(chunk)
            if chunk.endswith(b"\n"):
                return b"".join(chunks)


_outliner: tuple[int, PhpOutliner] | None = None


def outliner() -> PhpOutliner | None:
    """This process's outliner (a forked parser process starts its own), or None without php."""
    global _outliner
    if _outliner is not None and _outliner[0] == os.getpid():
        return _outliner[1]
    settings = installed_php()
    if settings is None or settings.version_id < MIN_VERSION_ID:
        return None
    _outliner = (os.getpid(), PhpOutliner(settings.outline_command()))
    return _outliner[1]


def close_outliner() -> None:
    """Stop this process's php (its forked parser processes' end with them)."""
    global _outliner
    if _outliner is not None and _outliner[0] == os.getpid():
        _outliner[1].close()
    _outliner = None
