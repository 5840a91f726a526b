"""What `premortem adopt` will do to a site, computed without changing anything.

The site is "in place": its premortem.toml says `site_root = docroot` (what `premortem init`
writes for a docroot that is not a `current` link). The new layout goes to a sibling
directory (`/var/www/html` -> `/var/www/html.premortem/`, or `--site-root DIR`), so the old
docroot stays exactly as it was and keeps serving until the server is re-pointed; undoing is
re-pointing it back.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from premortem.errors import PremortemError
from premortem.ops.adopt.server import reload_description, server_command
from premortem.ops.adopt.vhost import docroot_edits
from premortem.ops.deploy.copy import check_web_user
from premortem.ops.deploy.releases import SiteLayout, new_release_name
from premortem.ops.deploy.safefs import refuse_untrusted_dir
from premortem.ops.deploy.shared import normalise_shared_path, refuse_symlinked_parents
from premortem.ops.deploy.sharedphp import refuse_shared_dir_constants
from premortem.ops.remedy.plan import FilePlan
from premortem.siteconfig import (
    SiteConfig,
    check_state_dir,
    is_within,
    read_site_config,
    site_config_from_dict,
)

SITE_ROOT_SUFFIX = ".premortem"
JOURNAL = "adopt.json"


@dataclass
class AdoptPlan:
    config_path: Path
    config: SiteConfig  # as the file says now: in place
    site_root: Path  # the new layout's root
    release: str
    shared: list[str]
    server_edits: list[FilePlan]
    config_edit: FilePlan
    # Shared paths the docroot does not have (nothing to share yet).
    missing_shared: list[str] = field(default_factory=list)

    @property
    def layout(self) -> SiteLayout:
        return SiteLayout(self.site_root)

    @property
    def new_docroot(self) -> Path:
        return self.site_root / "current"

    @property
    def new_config(self) -> SiteConfig:
        return replace(self.config, site_root=str(self.site_root), docroot=str(self.new_docroot))

    @property
    def old_docroot(self) -> Path:
        return Path(self.config.docroot)

    @property
    def journal(self) -> Path:
        return self.config.path_of_state / JOURNAL

    def describe(self) -> list[str]:
        layout = self.layout
        shared = ", ".join(p for p in self.shared if p not in self.missing_shared) or "nothing"
        files = ", ".join(plan.display for plan in self.server_edits)
        test = " ".join(server_command(self.config)) + " -t"
        return [
            f"copy {self.old_docroot} to {layout.release_path(self.release)} (owners, groups "
            f"and modes kept; shared paths left out) and link current to it",
            f"copy {shared} to {layout.shared_dir} (owners, groups and modes kept) and link "
            "them into the release",
            f"serve the release with a stage {self.config.server} on a side port and compare "
            "its pages with production's",
            f"back up {files} and {self.config_path} to "
            f"{self.config.path_of_state}/backups/adopt-<time>/",
            f"re-point the server at {self.new_docroot} in {files}, then `{test}`",
            reload_description(self.new_config),
            "check that the server serves the release and that the site answers as before "
            "(same statuses, page sizes within a factor of 2, no 5xx); else undo at once",
            f"write site_root and docroot to {self.config_path}",
            f"leave {self.old_docroot} as it is (`premortem adopt --undo` serves it again)",
        ]

    def diff(self) -> str:
        return "".join(plan.diff() for plan in [*self.server_edits, self.config_edit])

    def to_dict(self) -> dict[str, Any]:
        return {
            "site_root": str(self.site_root),
            "docroot": str(self.new_docroot),
            "old_docroot": str(self.old_docroot),
            "release": self.release,
            "shared": self.shared,
            "files": [str(p.path) for p in [*self.server_edits, self.config_edit]],
            "steps": self.describe(),
            "diff": self.diff(),
        }


def default_site_root(docroot: Path) -> Path:
    return docroot.with_name(docroot.name + SITE_ROOT_SUFFIX)


def _in_place_docroot(config: SiteConfig) -> Path:
    docroot = Path(config.docroot)
    layout_root = Path(config.site_root)
    if docroot.name == "current" and (layout_root / "releases").is_dir():
        raise PremortemError(
            f"{config.docroot} is already a releases/shared/current layout's `current`: "
            "nothing to adopt (deploy, rollback and releases work on it)"
        )
    if os.path.normpath(config.site_root) != os.path.normpath(config.docroot):
        raise PremortemError(
            f"site_root {config.site_root} is not the docroot {config.docroot}: adopt turns an "
            "in-place docroot (site_root = docroot, as `premortem init` writes) into a layout"
        )
    if docroot.is_symlink() or not docroot.is_dir():
        raise PremortemError(f"the docroot {docroot} is not a directory (a symlink or missing)")
    return Path(os.path.normpath(docroot))


def _check_site_root(site_root: Path, docroot: Path) -> None:
    if os.path.lexists(site_root):
        raise PremortemError(
            f"{site_root} exists: adopt builds the layout in a new directory (remove it, or "
            "choose another with --site-root)"
        )
    if not site_root.parent.is_dir():
        raise PremortemError(f"{site_root.parent} does not exist")
    if is_within(site_root, docroot) or is_within(docroot, site_root):
        raise PremortemError(f"{site_root} must be beside the docroot {docroot}, not in it")
    # premortem (root) builds, links and later deploys there by path (safefs.py).
    refuse_untrusted_dir(site_root.parent, "the directory of the new layout")


def plan_adopt(config_path: Path, site_root: Path | None = None) -> AdoptPlan:
    """Check everything adopt needs and compute every change; writes nothing."""
    config = read_site_config(config_path)
    if config.server not in ("apache", "nginx") or not config.server_config:
        raise PremortemError(
            "adopt needs server = apache or nginx and its server_config in " + str(config_path)
        )
    docroot = _in_place_docroot(config)
    root = Path(os.path.abspath(site_root or default_site_root(docroot)))
    _check_site_root(root, docroot)
    check_web_user(config.web_user)
    shared = [normalise_shared_path(p) for p in config.shared_paths]
    refuse_symlinked_parents(docroot, shared, "adopt refused: in the docroot")
    # Shared files are linked into releases: refused now, not at the first deploy.
    refuse_shared_dir_constants(root / "shared", docroot, shared)
    plan = AdoptPlan(
        config_path=config_path,
        config=config,
        site_root=root,
        release=new_release_name(SiteLayout(root)),
        shared=shared,
        server_edits=docroot_edits(
            config.server, Path(config.server_config), str(docroot), str(root / "current")
        ),
        config_edit=config_file_edit(config_path, str(root), str(root / "current")),
        missing_shared=[p for p in shared if not os.path.lexists(docroot / p)],
    )
    check_state_dir(plan.new_config, str(config_path))
    refuse_untrusted_dir(config.path_of_state, "the state dir")
    return plan


def config_file_edit(path: Path, site_root: str, docroot: str) -> FilePlan:
    """premortem.toml with new site_root and docroot, every other line (comments too) kept."""
    before = path.read_bytes()
    text = before.decode("utf-8")
    # Only the top-level keys: those before the first [table].
    table = re.search(r"^\s*\[", text, re.MULTILINE)
    head, tail = (text[: table.start()], text[table.start() :]) if table else (text, "")
    for key, value in (("site_root", site_root), ("docroot", docroot)):
        line = re.compile(rf"^{key}\s*=.*$", re.MULTILINE)
        if len(line.findall(head)) != 1:
            raise PremortemError(f"{path}: cannot find one `{key} = ...` line to update")
        # TOML's basic strings escape as JSON does; re.sub reads backslashes in `written`.
        written = f"{key} = {json.dumps(value, ensure_ascii=False)}"
        head = line.sub(written.replace("\\", r"\\"), head)
    after = (head + tail).encode("utf-8")
    updated = site_config_from_dict(tomllib.loads(after.decode("utf-8")), str(path))
    if (updated.site_root, updated.docroot) != (site_root, docroot):
        raise PremortemError(f"{path}: updating site_root and docroot went wrong; not writing")
    return FilePlan(Path(os.path.realpath(path)), str(path), before, after)
