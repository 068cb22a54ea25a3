"""Reports of runs for CI and sharing: a self-contained HTML page (``--report``), JUnit XML
(``--junit``) and HAR 1.2 (``--har``), and the pieces ``weft ui`` renders its pages with.

```python
from weft.reports import ReportFiles, RunCollector, view_of_stored, run_report, junit_xml, har_log
view = view_of_stored(store.require_run(run_id))      # what a page shows of a stored run
html = run_report(view)                               # one self-contained HTML document
xml = junit_xml([view])                               # bytes
```

A :class:`RunView` is built from the run store (``view_of_stored``: what the store kept, with
notes saying what it did not keep) or from a live run's events (``view_of_live``: the exact
timeline and every exchange, from a :class:`RunCollector`). Everything in a view is masked
already (the store and the engine mask); the writers add nothing that could hold a secret.
"""

from __future__ import annotations

from weft.reports.collector import EventFanout, ExchangeTrace, RunCollector
from weft.reports.files import ReportFiles, batch_views
from weft.reports.gallery import SavedImage, is_civitai_run, saved_images
from weft.reports.har import har_log
from weft.reports.html import batch_report, run_report, run_sections, runs_table, stylesheet
from weft.reports.junit import junit_xml
from weft.reports.timeline import Timeline
from weft.reports.view import RunView, resume_command, view_of_live, view_of_stored

__all__ = [
    "EventFanout",
    "ExchangeTrace",
    "ReportFiles",
    "RunCollector",
    "RunView",
    "SavedImage",
    "Timeline",
    "batch_report",
    "batch_views",
    "har_log",
    "is_civitai_run",
    "junit_xml",
    "resume_command",
    "run_report",
    "run_sections",
    "runs_table",
    "saved_images",
    "stylesheet",
    "view_of_live",
    "view_of_stored",
]
