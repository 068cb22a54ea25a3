"""A local Civitai: Site API catalog and Orchestration v2 workflows, faithful to the real shapes
and to the failures clients meet (injected 5xx, gateway pages, resets, blocked images).

```python
async with run_simulator(SimulatorConfig.fast()) as sim:
    sim.base_url, sim.token, sim.state.charges_by_account, sim.state.submissions
handle = start_simulator_thread(SimulatorConfig())   # .base_url .token .state .stop()
```
"""

from __future__ import annotations

from weft.civitai.simulator.catalog import DEFAULT_CATALOG, Catalog, CatalogEntry, load_catalog
from weft.civitai.simulator.config import AccountSpec, Fault, SimulatorConfig, parse_faults
from weft.civitai.simulator.pricing import expected_cost
from weft.civitai.simulator.server import (
    RunningSimulator,
    SimulatorThread,
    run_simulator,
    start_simulator_thread,
)
from weft.civitai.simulator.state import Account, SimulatorState, Submission

__all__ = [
    "DEFAULT_CATALOG",
    "Account",
    "AccountSpec",
    "Catalog",
    "CatalogEntry",
    "Fault",
    "RunningSimulator",
    "SimulatorConfig",
    "SimulatorState",
    "SimulatorThread",
    "Submission",
    "expected_cost",
    "load_catalog",
    "parse_faults",
    "run_simulator",
    "start_simulator_thread",
]
