"""HTML: a run's sections (shared by ``weft ui`` pages and the reports) and the self-contained
report files (``--report FILE``): one HTML file with its stylesheet inline and its images as
``data:`` URIs, so it opens offline, anywhere, and asks the network for nothing.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from importlib.resources import files

from weft import __version__
from weft.reports.gallery import SavedImage
from weft.reports.html_parts import (
    ImageSource,
    badge,
    cost,
    esc,
    facts,
    failure_block,
    gallery_block,
    json_block,
    label_chips,
    request_block,
    resume_block,
    seconds,
    steps_table,
    timeline_block,
    when,
)
from weft.reports.view import RunView

LabelLink = Callable[[str, str], str | None]
MAX_INLINE_IMAGE = 32 * 1024 * 1024  # bytes: a larger image is named, not embedded
DETAILED_RUNS = 200  # a batch report details this many runs (failed ones first)


def stylesheet() -> str:
    """The stylesheet of every page and report (shipped in the package)."""
    return files("weft.reports").joinpath("assets/weft.css").read_text(encoding="utf-8")


def _no_link(name: str, value: str) -> str | None:
    return None


def run_sections(
    view: RunView,
    image_src: ImageSource,
    *,
    label_link: LabelLink = _no_link,
    heading: str = "h1",
) -> str:
    """A run: what, when, how it ended (and how to resume it), its timeline, images, outputs,
    steps, requests and inputs."""
    title = f"{view.workflow_id} · run {view.run_id}"
    if view.row:
        title += f" (row {view.row})"
    rows = [
        ("status", badge(view.status)),
        ("run", f"<code>{esc(view.run_id)}</code>"),
        ("workflow", f"<code>{esc(view.workflow_id)}</code>"),
    ]
    if view.document:
        rows.append(("document", f'<span class="mono">{esc(view.document)}</span>'))
    rows += [
        ("started", esc(when(view.created_at))),
        ("duration", esc(seconds(view.duration))),
    ]
    if view.cost is not None:
        rows.append(("cost", esc(cost(view.cost))))
    if view.labels:
        rows.append(("labels", label_chips(view.labels, label_link)))
    parts = [
        f'<section class="run" id="run-{esc(view.run_id)}" data-run="{esc(view.run_id)}">'
        f"<{heading}>{esc(title)}</{heading}>{facts(rows)}"
    ]
    parts.append(resume_block(view))
    if view.failure is not None:
        parts.append(f"<h2>error</h2>{failure_block(view.failure, view.message)}")
    if view.pending:
        parts.append(
            "<h2>request in flight when the run stopped</h2>" + json_block(dict(view.pending))
        )
    parts.append(f"<h2>timeline</h2>{timeline_block(view.timeline)}")
    if view.images:
        parts.append(
            f"<h2>images ({len(view.images)})</h2>"
            '<p class="muted">hover an image for its prompt, seed and cost</p>'
            + gallery_block(view.images, image_src)
        )
    parts.append("<h2>outputs</h2>")
    parts.append(json_block(dict(view.outputs)) if view.outputs else '<p class="muted">none</p>')
    parts.append(f"<h2>steps</h2>{steps_table(view.steps, view.workflow_id)}")
    parts.append(f"<h2>requests ({len(view.requests)})</h2>")
    parts.extend(f'<p class="note">{esc(note)}</p>' for note in view.notes)
    parts.extend(request_block(row, view.workflow_id) for row in view.requests)
    if view.inputs is not None:
        parts.append("<h2>inputs</h2>" + json_block(dict(view.inputs)))
    parts.append("</section>")
    return "".join(parts)


def runs_table(
    views: Sequence[RunView], link: Callable[[RunView], str], label_link: LabelLink = _no_link
) -> str:
    """A table of runs (status, run, workflow, start, duration, cost, labels, reason)."""
    rows = []
    for view in views:
        reason = view.failure.reason if view.failure is not None else ""
        rows.append(
            f'<tr data-run="{esc(view.run_id)}"><td>{badge(view.status)}</td>'
            f'<td><a class="mono" href="{esc(link(view))}">{esc(view.run_id)}</a></td>'
            f"<td>{esc(view.row or '')}</td><td><code>{esc(view.workflow_id)}</code></td>"
            f'<td>{esc(when(view.created_at))}</td><td class="num">{esc(seconds(view.duration))}'
            f'</td><td class="num">{esc(cost(view.cost))}</td>'
            f"<td>{label_chips(view.labels, label_link)}</td>"
            f'<td class="reason-cell" title="{esc(reason)}">{esc(reason)}</td></tr>'
        )
    return (
        '<table class="runs"><thead><tr><th>status</th><th>run</th><th>row</th><th>workflow</th>'
        '<th>started</th><th class="num">duration</th><th class="num">cost</th><th>labels</th>'
        f"<th>reason</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def data_uri(image: SavedImage) -> str:
    """The image as a ``data:`` URI (empty when it cannot be read or is too large)."""
    try:
        if image.path.stat().st_size > MAX_INLINE_IMAGE:
            return ""
        data = image.path.read_bytes()
    except OSError:
        return ""
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def document(title: str, body: str) -> str:
    """A whole self-contained HTML document: the stylesheet inline, no script, no link."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="weft {esc(__version__)}">'
        f"<title>{esc(title)}</title><style>{stylesheet()}</style></head><body>"
        f'<header class="top"><span class="brand">weft</span><span class="muted">'
        f"{esc(title)}</span></header><main>{body}</main></body></html>"
    )


def run_report(view: RunView) -> str:
    """The self-contained report of one run."""
    return document(
        f"run {view.run_id} ({view.status})", run_sections(view, data_uri, heading="h1")
    )


def batch_report(views: Sequence[RunView], title: str) -> str:
    """The self-contained report of a batch: counts, every run in a table, and the details of
    up to :data:`DETAILED_RUNS` runs (failed ones first)."""
    counts: dict[str, int] = {}
    for view in views:
        counts[view.status] = counts.get(view.status, 0) + 1
    summary = " · ".join(f"{badge(status)} {n}" for status, n in sorted(counts.items()))
    ordered = sorted(views, key=lambda v: (v.status == "succeeded", _row_number(v)))
    detailed = ordered[:DETAILED_RUNS]
    shown = {v.run_id for v in detailed}
    parts = [
        f"<h1>{esc(title)}</h1><p>{len(views)} runs: {summary}</p>",
        runs_table(views, lambda v: f"#run-{v.run_id}" if v.run_id in shown else ""),
    ]
    if len(views) > len(detailed):
        parts.append(
            f'<p class="note">details of {len(detailed)} of {len(views)} runs (failed first)</p>'
        )
    parts.extend(run_sections(view, data_uri, heading="h2") for view in detailed)
    return document(title, "".join(parts))


def _row_number(view: RunView) -> int:
    try:
        return int(view.row or 0)
    except ValueError:
        return 0


__all__ = [
    "batch_report",
    "data_uri",
    "document",
    "run_report",
    "run_sections",
    "runs_table",
    "stylesheet",
]
