"""The lab: a real Apache + mod_php, MariaDB and WordPress stack on loopback, with faults.

from premortem.ops.lab import Lab
lab = Lab(Path("/srv/premortem-lab"))
lab.up(port=8080)            # 200 at http://127.0.0.1:8080/
lab.break_scenario("seed")   # the seed incident: 500, silent error log
lab.repair()                 # byte-for-byte restore
lab.down()
"""

from premortem.ops.lab.core import DEFAULT_DIR, DEFAULT_PORT, Lab, LabStatus
from premortem.ops.lab.scenarios import Expected, Scenario, all_scenarios, get_scenario

__all__ = [
    "DEFAULT_DIR",
    "DEFAULT_PORT",
    "Expected",
    "Lab",
    "LabStatus",
    "Scenario",
    "all_scenarios",
    "get_scenario",
]
