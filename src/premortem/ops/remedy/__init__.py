"""Remedies (`premortem fix`): turn a diagnosis's Fix into a checked plan, apply it with a
backup and a re-probe (restoring the backup when the site is not healthy afterwards), or
export it as an idempotent shell script or Puppet manifest.

    from premortem.ops.remedy import load_findings, choose_finding, plan_fix, apply_plan
    finding = choose_finding(load_findings(Path("diagnosis.json")), number=None)
    plan = plan_fix(finding, config)
    print(plan.diff())
    outcome = apply_plan(plan, config)
"""

from premortem.ops.remedy.apply import FixOutcome, apply_plan, restore_backup
from premortem.ops.remedy.export import export_puppet, export_shell
from premortem.ops.remedy.findings import (
    choose_finding,
    diagnosed_url,
    finding_from_dict,
    load_findings,
)
from premortem.ops.remedy.plan import FilePlan, FixPlan, plan_fix

__all__ = [
    "FilePlan",
    "FixOutcome",
    "FixPlan",
    "apply_plan",
    "choose_finding",
    "diagnosed_url",
    "export_puppet",
    "export_shell",
    "finding_from_dict",
    "load_findings",
    "plan_fix",
    "restore_backup",
]
