"""Releases that can be staged, switched and undone (`deploy`, `rollback`, `releases`).

    from premortem.ops.deploy import deploy, rollback, list_releases, DeployOptions
    result = deploy(config, Path("build/"), DeployOptions(keep=5))
    result.outcome   # "deployed", "stopped" (gate/stage), "rolled-back" or "failed"

Layout (Capistrano/Deployer): `<site>/releases/<UTC time>/`, `<site>/shared/`,
`<site>/current -> releases/<name>` (the server's DocumentRoot).
"""

from premortem.ops.deploy.pipeline import (
    DeployOptions,
    DeployResult,
    RollbackResult,
    deploy,
    rollback,
    site_layout,
)
from premortem.ops.deploy.releases import Release, SiteLayout, list_releases

__all__ = [
    "DeployOptions",
    "DeployResult",
    "Release",
    "RollbackResult",
    "SiteLayout",
    "deploy",
    "list_releases",
    "rollback",
    "site_layout",
]
