"""A local Civitai: Site API catalog and Orchestration v2 workflows, faithful to the real shapes.

```python
async with run_simulator(SimulatorConfig.fast()) as sim:
    sim.base_url, sim.token, sim.state.charges_by_account
handle = start_simulator_thread(SimulatorConfig())   # .base_url .token .state .stop()
```
"""

from __future__ import annotations

from weft.civitai.simulator.catalog import DEFAULT_CATALOG, CatalogEntry
from weft.civitai.simulator.config import SimulatorConfig
from weft.civitai.simulator.pricing import expected_cost
from weft.civitai.simulator.server import (
    RunningSimulator,
    SimulatorThread,
    run_simulator,
    start_simulator_thread,
)
from weft.civitai.simulator.state import SimulatorState

__all__ = [
    "DEFAULT_CATALOG",
    "CatalogEntry",
    "RunningSimulator",
    "SimulatorConfig",
    "SimulatorState",
    "SimulatorThread",
    "expected_cost",
    "run_simulator",
    "start_simulator_thread",
]
