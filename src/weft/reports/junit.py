"""JUnit XML (``--junit FILE``), the shape Jenkins, GitLab and most CI systems read:

```xml
<testsuites name="weft" tests=.. failures=.. errors=.. skipped=.. time=..>
  <testsuite name="runs" ...>                      one test case per run
    <testcase classname="<workflowId>" name="<runId> (row N)" time=..>
      <failure type="<kind>" message="<reason>">the failure's fields</failure>
  <testsuite name="<workflowId> <runId>" ...>      one test case per step of that run
    <testcase classname="<workflowId>" name="<stepId>" time=..> [failure | skipped]
```

A failed run (or step) is a ``failure`` with its reason as the message and its kind as the
type; a run whose request may have been acted on (``outcome_unknown``) or that did not finish
(``running``) is an ``error``; a step that never ran is ``skipped``.
"""

from __future__ import annotations

import re
import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from weft.engine.failure import Failure
from weft.engine.failure_text import render_server
from weft.reports.view import RunView, StepRow


def _iso(ts: float | None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts if ts is not None else time.time()))


def _details(failure: Failure) -> str:
    """The failure's fields, a line each (the reason first)."""
    root = failure.root()
    lines = [failure.reason, f"kind: {failure.kind.value}"]
    if failure.step_id:
        lines.append(f"step: {failure.workflow_id or ''}/{failure.step_id}".replace(": /", ": "))
    if root is not failure and root.step_id:
        lines.append(f"failed in: {root.workflow_id or ''}/{root.step_id}")
    if root.status_code is not None:
        lines.append(f"status: {root.status_code}")
    if root.transport is not None:
        lines.append(f"no answer: {root.transport.value}")
    if root.server is not None and not root.server.empty:
        lines.append(f"server said: {render_server(root.server)}")
    if root.detail:
        lines.append(f"detail: {root.detail}")
    return "\n".join(lines)


def _outcome(case: ET.Element, status: str, failure: Failure | None, run_id: str) -> str:
    """Add the case's failure/error/skipped element; which one it was (``""``: passed)."""
    if status == "succeeded":
        return ""
    if status in ("outcome_unknown", "running"):
        element = ET.SubElement(case, "error")
        element.set("type", status)
        if status == "running":
            message = f"the run did not finish (resume it with: weft resume {run_id})"
        else:
            message = failure.reason if failure is not None else "outcome unknown"
        element.set("message", message)
        element.text = _details(failure) if failure is not None else message
        return "errors"
    if status == "pending":
        ET.SubElement(case, "skipped").set("message", "the step did not run")
        return "skipped"
    element = ET.SubElement(case, "failure")
    element.set("type", failure.kind.value if failure is not None else status)
    element.set("message", failure.reason if failure is not None else status)
    element.text = _details(failure) if failure is not None else status
    return "failures"


def _suite(parent: ET.Element, name: str, timestamp: float | None, host: str) -> ET.Element:
    suite = ET.SubElement(parent, "testsuite")
    suite.set("name", name)
    suite.set("timestamp", _iso(timestamp))
    suite.set("hostname", host)
    return suite


def _close(suite: ET.Element, counts: dict[str, int], total: float) -> None:
    suite.set("tests", str(counts["tests"]))
    for key in ("failures", "errors", "skipped"):
        suite.set(key, str(counts[key]))
    suite.set("time", f"{total:.3f}")


def _new_counts() -> dict[str, int]:
    return {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}


def _step_case(suite: ET.Element, step: StepRow, view: RunView) -> str:
    case = ET.SubElement(suite, "testcase")
    case.set("classname", step.workflow_id or view.workflow_id)
    case.set("name", step.step_id)
    case.set("time", f"{step.duration:.3f}")
    status = step.status or "pending"
    if status not in ("succeeded", "failed", "pending"):
        status = "failed" if step.failure is not None else "succeeded"
    if status == "succeeded" and step.failure is not None:
        status = "failed"
    return _outcome(case, status, step.failure, view.run_id)


def junit_xml(views: Sequence[RunView], *, name: str = "weft") -> bytes:
    """The JUnit XML of ``views`` (see the module docstring)."""
    host = socket.gethostname() or "localhost"
    root = ET.Element("testsuites")
    root.set("name", name)
    first = min((v.created_at for v in views if v.created_at is not None), default=None)
    runs = _suite(root, "runs", first, host)
    run_counts, all_counts = _new_counts(), _new_counts()
    total = 0.0
    step_suites: list[tuple[ET.Element, dict[str, int], float]] = []
    for view in views:
        case = ET.SubElement(runs, "testcase")
        case.set("classname", view.workflow_id)
        case.set("name", view.run_id if not view.row else f"{view.run_id} (row {view.row})")
        duration = view.duration or 0.0
        case.set("time", f"{duration:.3f}")
        total += duration
        run_counts["tests"] += 1
        outcome = _outcome(case, view.status, view.failure, view.run_id)
        if outcome:
            run_counts[outcome] += 1
        suite = _suite(root, f"{view.workflow_id} {view.run_id}", view.created_at, host)
        props = ET.SubElement(suite, "properties")
        labels = sorted((f"label.{k}", v) for k, v in view.labels.items())
        for key, value in [("runId", view.run_id), ("status", view.status), *labels]:
            prop = ET.SubElement(props, "property")
            prop.set("name", key)
            prop.set("value", value)
        counts = _new_counts()
        step_time = 0.0
        for step in view.steps:
            counts["tests"] += 1
            step_time += step.duration
            result = _step_case(suite, step, view)
            if result:
                counts[result] += 1
        step_suites.append((suite, counts, step_time))
    _close(runs, run_counts, total)
    for key in all_counts:
        all_counts[key] = run_counts[key]
    for suite, counts, step_time in step_suites:
        _close(suite, counts, step_time)
        for key in all_counts:
            all_counts[key] += counts[key]
    root.set("tests", str(all_counts["tests"]))
    for key in ("failures", "errors", "skipped"):
        root.set(key, str(all_counts[key]))
    root.set("time", f"{total:.3f}")
    for element in root.iter():
        for key, value in element.attrib.items():
            element.set(key, _xml_text(value))
        if element.text:
            element.text = _xml_text(element.text)
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"


_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot hold (control characters, lone
    surrogates): each becomes U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


__all__ = ["junit_xml"]
