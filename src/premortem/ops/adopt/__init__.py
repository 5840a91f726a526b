"""`premortem adopt`: turn an in-place docroot into the releases/shared/current layout.

from premortem.ops.adopt import plan_adopt, adopt, undo_adopt
plan = plan_adopt(Path("premortem.toml"))     # checks everything, changes nothing
print(plan.diff())                            # the server config and premortem.toml edits
result = adopt(plan, LocalHost())             # result.outcome: adopted, stopped, undone
undo_adopt(Path("premortem.toml"), LocalHost())
"""

from premortem.ops.adopt.plan import AdoptPlan, plan_adopt
from premortem.ops.adopt.run import AdoptResult, adopt
from premortem.ops.adopt.undo import UndoResult, leftover_note, undo_adopt

__all__ = [
    "AdoptPlan",
    "AdoptResult",
    "UndoResult",
    "adopt",
    "leftover_note",
    "plan_adopt",
    "undo_adopt",
]
