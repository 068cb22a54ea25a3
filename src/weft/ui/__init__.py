"""``weft ui``: a local, read-only web page over a run store.

```python
from weft.ui import UiConfig, make_app       # an aiohttp Application
app = make_app(UiConfig(store, image_roots=(Path("weft-out"),)))
```

The pages (:mod:`weft.ui.pages`) render a run with the reports' sections
(:func:`weft.reports.run_sections`), so a page and a ``--report`` file show the same thing.
The stylesheet and the one script ship in the package; nothing is fetched from the network.
"""

from __future__ import annotations

from weft.ui.app import UiConfig, loopback_hosts, make_app

__all__ = ["UiConfig", "loopback_hosts", "make_app"]
