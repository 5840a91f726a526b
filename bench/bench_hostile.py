"""Hostile trees, configs and logs against the real CLI: time, peak memory, exit code, message.

    .venv/bin/python bench/bench_hostile.py [--files 200000] [--only NAME]

Each case builds its input under a temporary directory on /dev/shm (tmpfs: RAM, so that a
tree of hundreds of thousands of files builds in seconds), runs `premortem ...` as a
subprocess and prints its wall time, its peak RSS (the child's own, from wait4), its exit
code and the first line it printed on stderr. A traceback, an exit code other than 0, 1 or 2,
or a run over its time bound (60 s, 600 s for the big tree) is a failure (exit 1).

With `--only memory`: `check` of --files small PHP files without cache, with a cold cache,
unchanged and with one file touched, each run's peak RSS and bytes a file over the peak on
a tree of 10 files (the interpreter and its modules).

Cases: `check` of a tree of --files small PHP files (1000 a directory); of a tree holding a
2 GB (sparse) PHP file, names that are not UTF-8, symlink loops, and files rewritten,
truncated and replaced while check reads them; `check --server-config` of an Apache config
with an Include cycle, an Include of a FIFO no one writes and `IncludeOptional /*`, and of
an nginx config including that FIFO and a glob of 5,000 files; `impact` of an access log
holding a 10 MB line; text output of 10,000 findings (10,000 mistyped includes, each with a
did-you-mean and a fix), beside the same run's JSON (what the text costs over it is the
text renderer's share).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())
PHP = "<?php\nfunction f_{n}() {{ return {n}; }}\nrequire_once __DIR__ . '/../lib.php';\n"


@dataclass
class Outcome:
    name: str
    seconds: float
    peak_mb: float
    code: int
    said: str
    traceback: bool


def run(
    name: str,
    args: list[str],
    limit: float,
    during: Callable[[], None] | None = None,
    env: dict[str, str] | None = None,
) -> Outcome:
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "premortem", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    stop = threading.Event()
    if during is not None:
        threading.Thread(target=lambda: _repeat(during, stop), daemon=True).start()
    timer = threading.Timer(limit, process.kill)
    timer.start()
    assert process.stderr is not None
    stderr = process.stderr.read().decode(errors="replace")
    _pid, status, usage = os.wait4(process.pid, 0)
    timer.cancel()
    stop.set()
    code = os.waitstatus_to_exitcode(status)
    process.returncode = code
    said = next((line for line in stderr.splitlines() if line.strip()), "")
    return Outcome(
        name, time.monotonic() - started, usage.ru_maxrss / 1024, code, said[:150],
        "Traceback" in stderr,
    )  # fmt: skip


def _repeat(action: Callable[[], None], stop: threading.Event) -> None:
    while not stop.is_set():
        action()


def tree_of_files(base: Path, count: int) -> Path:
    site = base / "site"
    site.mkdir()
    (site / "lib.php").write_text("<?php\n")
    (site / "index.php").write_text("<?php\nrequire __DIR__ . '/lib.php';\n")
    for index in range(count):
        folder = site / f"d{index // 1000:04}"
        if index % 1000 == 0:
            folder.mkdir()
        (folder / f"f{index:07}.php").write_text(PHP.format(n=index))
    return site


def hostile_tree(base: Path) -> Path:
    site = tree_of_files(base, 2000)
    with (site / "huge.php").open("wb") as handle:
        handle.write(b"<?php\necho 1;\n")
        handle.truncate(2 * 1024**3)
    (site / "index.php").write_text(
        "<?php\nrequire __DIR__ . '/huge.php';\ninclude __DIR__ . '/caf\xe9.php';\n"
        "include __DIR__ . '/loop-a/x.php';\ninclude __DIR__ . '/lib.php';\n"
    )
    os.mkdir(os.path.join(os.fsencode(site), b"d\xff\xfe"))
    for name in (b"caf\xe9.php", b"d\xff\xfe/\xc3\x28.php"):
        Path(os.fsdecode(os.path.join(os.fsencode(site), name))).write_bytes(b"<?php\n")
    (site / "loop-a").symlink_to("loop-b")
    (site / "loop-b").symlink_to("loop-a")
    (site / "d0000" / "self").symlink_to("..")
    (site / "up").symlink_to("/")
    return site


def changing(site: Path) -> Callable[[], None]:
    files = sorted(site.glob("d000*/*.php"))

    def change() -> None:
        victim = random.choice(files)
        with open(victim, "ab") as handle:
            handle.write(b"\n/* more */ function g() {}\n")
        os.truncate(victim, random.randint(0, 40))
        spare = victim.with_suffix(".new")
        spare.write_text("<?php echo 2;\n")
        os.replace(spare, victim)
        time.sleep(0.001)

    return change


def apache_config(base: Path) -> Path:
    conf = base / "apache"
    conf.mkdir()
    (conf / "a.conf").write_text(f"Include {conf}/b.conf\n")
    (conf / "b.conf").write_text(f"Include {conf}/a.conf\n")
    os.mkfifo(conf / "never.conf")  # a FIFO no one writes: even opening it would block
    (conf / "apache2.conf").write_text(
        f"ServerRoot {conf}\nListen 8080\nInclude {conf}/a.conf\nInclude {conf}/never.conf\n"
        "IncludeOptional /*\n"
        "<VirtualHost *:8080>\nServerName blog.example\nDocumentRoot /srv/x\n</VirtualHost>\n"
    )
    return conf / "apache2.conf"


def nginx_config(base: Path, count: int = 5000) -> Path:
    conf = base / "nginx"
    (conf / "conf.d").mkdir(parents=True)
    for index in range(count):
        (conf / "conf.d" / f"s{index:05}.conf").write_text(
            f"server {{ listen {8000 + index % 1000}; server_name s{index}.example; "
            f"root /srv/s{index}; location ~ \\.php$ {{ fastcgi_pass unix:/run/php.sock; }} }}\n"
        )
    os.mkfifo(conf / "never.conf")  # a FIFO no one writes: crossplane's open of it blocked
    (conf / "nginx.conf").write_text(
        f"events {{}}\nhttp {{\n include {conf}/never.conf;\n include {conf}/conf.d/*.conf;\n}}\n"
    )
    return conf / "nginx.conf"


def broken_includes(base: Path, count: int = 10_000) -> Path:
    """`count` requires of `libNNN.phpp` where `libNNN.php` exists (10 a file, 200 files a
    directory): `count` missing-include findings, each with a did-you-mean and a fix."""
    site = base / "broken"
    site.mkdir()
    for index in range(count // 10):
        folder = site / f"d{index // 100}"
        if index % 100 == 0:
            folder.mkdir()
        (folder / f"lib{index % 100:03}.php").write_text("<?php\n")
        (folder / f"f{index % 100:03}.php").write_text(
            "<?php\n"
            + "".join(f"require __DIR__ . '/lib{index % 100:03}.phpp'; // {k}\n" for k in range(10))
        )
    return site


def render_seconds(site: Path) -> str:
    """The text renderer alone on the findings of `site` (checked in this process): to a
    file, and to a colour terminal (forced), in seconds."""
    import io

    from rich.console import Console

    from premortem.check.runner import CheckOptions, run_check
    from premortem.render.text import render_check_text

    findings = run_check(site, CheckOptions(use_cache=False)).findings
    said = []
    for terminal in (False, True):
        console = Console(file=io.StringIO(), width=120, force_terminal=terminal, highlight=False)
        started = time.monotonic()
        render_check_text(findings, console, summary="-")
        said.append(f"{time.monotonic() - started:.2f} s {'terminal' if terminal else 'file'}")
    return f"render_check_text of {len(findings)} findings: " + ", ".join(said)


def access_log(base: Path) -> Path:
    log = base / "access.log"
    line = '203.0.113.{i} - - [29/Nov/2026:06:{m:02}:00 +0000] "GET /x HTTP/1.1" {s} 10 "-" "ua"\n'
    with log.open("w") as handle:
        for index in range(5000):
            handle.write(line.format(i=index % 250, m=index % 60, s=500 if index % 7 else 200))
            if index == 2500:
                handle.write('203.0.113.9 - - [29/Nov/2026:06:30:00 +0000] "GET /' + "a" * 10**7)
                handle.write('" 200 1 "-" "ua"\n')
    return log


def memory(base: Path, files: int) -> list[Outcome]:
    """`check` of --files small PHP files without cache, with a cold cache, unchanged (the
    answer cache), and with one file touched (the parse cache); bytes a file over the
    peak of the same runs on a tree of 10 files."""
    env = {**os.environ, "XDG_CACHE_HOME": str(base / "cache")}
    out: list[Outcome] = []
    for count in (10, files):
        (base / f"m{count}").mkdir()
        site = tree_of_files(base / f"m{count}", count)
        first = site / "d0000" / "f0000000.php"
        for mode in ("--no-cache", "cold cache", "unchanged", "one file touched"):
            if mode == "one file touched":
                first.write_bytes(first.read_bytes() + b"\n")
            name = f"memory, {count} files, {mode}"
            args = ["check", str(site), *(["--no-cache"] if mode == "--no-cache" else [])]
            out.append(run(name, args, 900, env=env))
        shutil.rmtree(base / f"m{count}")
    small, big = out[:4], out[4:]
    for tiny, outcome in zip(small, big, strict=True):
        per_file = (outcome.peak_mb - tiny.peak_mb) * 1024 * 1024 / files
        outcome.said = f"{per_file:.0f} bytes a file over the 10-file run ({tiny.peak_mb:.0f} MB)"
    return big


def cases(base: Path, files: int, only: str) -> list[Outcome]:
    out: list[Outcome] = []
    want = lambda name: not only or only == name  # noqa: E731
    if only == "memory":  # not among the default cases: it runs check four times
        return memory(base, files)
    if want("big-tree"):
        started = time.monotonic()
        site = tree_of_files(base / "big", files) if (base / "big").mkdir() is None else base
        print(f"  (built {files} files in {time.monotonic() - started:.0f} s)", flush=True)
        out.append(run(f"check, {files} files", ["check", str(site), "--no-cache"], 600))
        shutil.rmtree(base / "big")
    if want("hostile-tree") or want("changing"):
        (base / "h").mkdir()
        site = hostile_tree(base / "h")
        if want("hostile-tree"):
            out.append(run("check, 2 GB file, non-UTF-8 names, symlink loops",
                           ["check", str(site), "--no-cache"], 60))  # fmt: skip
        if want("changing"):
            out.append(run("check, files rewritten while read", ["check", str(site), "--no-cache"],
                           60, during=changing(site)))  # fmt: skip
    site = base / "tiny"
    site.mkdir()
    (site / "index.php").write_text("<?php echo 1;\n")
    if want("apache"):
        config = apache_config(base)
        out.append(run("check --server-config, Apache Include cycle + FIFO + IncludeOptional /*",
                       ["check", str(site), "--server-config", str(config)], 60))  # fmt: skip
    if want("nginx"):
        config = nginx_config(base)
        out.append(run("check --server-config, nginx include of a FIFO and 5,000 files",
                       ["check", str(site), "--server-config", str(config)], 60))  # fmt: skip
    if want("findings"):
        broken = broken_includes(base)
        for fmt in ("text", "json"):
            out.append(run(f"check, 10,000 findings, --format {fmt}",
                           ["check", str(broken), "--no-cache", "--format", fmt], 60))  # fmt: skip
        print(f"  ({render_seconds(broken)})", flush=True)
    if want("log-line"):
        log = access_log(base)
        out.append(run("impact, access log with a 10 MB line", ["impact", str(log)], 60))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=200_000)
    parser.add_argument("--only", default="", help="one case: big-tree, hostile-tree, changing, "
                        "apache, nginx, findings, log-line; memory (not by default)")  # fmt: skip
    parser.add_argument("--dir", default=str(ROOT), help=f"where inputs are built ({ROOT})")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="premortem-hostile-", dir=args.dir))
    try:
        outcomes = cases(base, args.files, args.only)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    failed = False
    for o in outcomes:
        bad = o.traceback or o.code not in (0, 1, 2) or o.code < 0
        failed |= bad
        mark = "FAIL" if bad else "ok  "
        crash = ", TRACEBACK" if o.traceback else ""
        print(f"{mark} {o.name}: {o.seconds:.1f} s, peak RSS {o.peak_mb:.0f} MB, exit {o.code}"
              f"{crash}\n       {o.said}")  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
