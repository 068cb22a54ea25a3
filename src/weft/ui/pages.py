"""The pages of ``weft ui``, as HTML text: the run list, a run, a batch, and an error page.

The run's sections are the reports' own (:func:`weft.reports.run_sections`); the pages add
the frame (navigation, the stylesheet and script the server ships) and links. Every link
carries a run id, a batch key, a filter or a page cursor: nothing a secret could be in.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from weft import __version__
from weft.engine.failure import Failure
from weft.reports import RunView, run_sections
from weft.reports.gallery import SavedImage
from weft.reports.html_parts import badge, cost, esc, gallery_block, label_chips, seconds, when
from weft.store.records import RUN_STATUSES, RunSummary
from weft.ui.listing import RunFilter
from weft.ui.progress import BatchProgress


def run_url(run_id: str) -> str:
    return f"/runs/{quote(run_id, safe='')}"


def batch_url(key: str) -> str:
    return f"/batches/{quote(key, safe='')}"


def image_url(run_id: str, image: SavedImage) -> str:
    return f"{run_url(run_id)}/images/{quote(image.name, safe='')}"


def label_link(name: str, value: str) -> str | None:
    """A label chip's link: a batch's page, else the list filtered by the label."""
    if name == "batch":
        return batch_url(value)
    return "/" + RunFilter(labels=((name, value),)).query()


def layout(title: str, body: str, *, store: str, script: bool = False) -> str:
    js = '<script src="/static/ui.js" defer></script>' if script else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{esc(title)} · weft</title><link rel="stylesheet" href="/static/weft.css">{js}'
        '</head><body><header class="top"><a class="brand" href="/">weft</a><nav>'
        '<a href="/">runs</a><a href="/?status=failed">failed</a>'
        '<a href="/?status=running">unfinished</a>'
        '<a href="/?label=kind%3Dcivitai-generate">civitai</a></nav>'
        f'<span class="muted" title="the run store">{esc(store)}</span>'
        f'<span class="muted" style="margin-left:auto">weft {esc(__version__)} · read-only'
        f"</span></header><main>{body}</main></body></html>"
    )


def _reason(summary: RunSummary) -> str:
    error = summary.error
    if not isinstance(error, dict):
        return ""
    return Failure.from_dict(error).reason


def summary_table(summaries: Sequence[RunSummary]) -> str:
    if not summaries:
        return '<p class="muted" id="no-runs">no runs</p>'
    rows = []
    for s in summaries:
        reason = _reason(s)
        row = s.labels.get("row", "")
        rows.append(
            f'<tr data-run="{esc(s.run_id)}" data-status="{esc(s.status)}">'
            f"<td>{badge(s.status)}</td>"
            f'<td><a class="mono run-link" href="{esc(run_url(s.run_id))}">{esc(s.run_id)}</a>'
            f"</td><td><code>{esc(s.workflow_id)}</code>"
            f"{f' <span class=muted>row {esc(row)}</span>' if row else ''}</td>"
            f"<td>{esc(when(s.created_at))}</td>"
            f'<td class="num">{esc(seconds(s.duration))}</td>'
            f'<td class="num">{esc(cost(s.cost))}</td>'
            f"<td>{label_chips(s.labels, label_link)}</td>"
            f'<td class="reason-cell" title="{esc(reason)}">{esc(reason)}</td></tr>'
        )
    return (
        '<table class="runs"><thead><tr><th>status</th><th>run</th><th>workflow</th>'
        '<th>started</th><th class="num">duration</th><th class="num">cost</th>'
        f"<th>labels</th><th>reason</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def filter_form(flt: RunFilter, action: str = "/", *, fixed: Sequence[str] = ()) -> str:
    options = "".join(
        f'<option value="{esc(s)}"{" selected" if s == flt.status else ""}>{esc(s)}</option>'
        for s in ("", *RUN_STATUSES)
    )
    label_text = ", ".join(f"{k}={v}" for k, v in flt.labels if k not in fixed)
    return (
        f'<form class="filters" method="get" action="{esc(action)}">'
        f'<label>status<select name="status">{options}</select></label>'
        f'<label>workflow<input name="workflow" value="{esc(flt.workflow or "")}" '
        'placeholder="workflow id"></label>'
        f'<label>label<input name="label" value="{esc(label_text)}" '
        'placeholder="name=value"></label><button type="submit">filter</button>'
        f"{f'<a href={esc(action)}>clear</a>' if flt.filtered else ''}</form>"
    )


def pager(flt: RunFilter, next_cursor: str | None, base: str = "/") -> str:
    links = []
    if flt.before:
        links.append(f'<a href="{esc(base + flt.query(before=None))}">« newest</a>')
    if next_cursor:
        links.append(
            f'<a class="next" rel="next" href="{esc(base + flt.query(before=next_cursor))}">'
            "older »</a>"
        )
    return f'<div class="pager">{"".join(links)}</div>' if links else ""


def list_page(
    summaries: Sequence[RunSummary], flt: RunFilter, next_cursor: str | None, *, store: str
) -> str:
    what = "runs"
    if flt.filtered:
        parts = [flt.status or "", flt.workflow or ""] + [f"{k}={v}" for k, v in flt.labels]
        what += " · " + " ".join(p for p in parts if p)
    body = (
        f"<h1>{esc(what)}</h1>{filter_form(flt)}{summary_table(summaries)}{pager(flt, next_cursor)}"
    )
    return layout("runs", body, store=store)


def run_page(view: RunView, *, store: str) -> str:
    links = (
        f'<p class="muted"><a href="{esc(run_url(view.run_id))}/report.html">download report'
        f'</a> · <a href="{esc(run_url(view.run_id))}/junit.xml">JUnit XML</a> · '
        f'<a href="/api{esc(run_url(view.run_id))}">JSON</a>'
    )
    batch = view.labels.get("batch")
    if batch:
        links += f' · <a href="{esc(batch_url(batch))}">its batch</a>'
    links += "</p>"
    body = run_sections(view, lambda image: image_url(view.run_id, image), label_link=label_link)
    return layout(f"run {view.run_id}", links + body, store=store)


def progress_block(progress: BatchProgress) -> str:
    total = max(progress.total, 1)

    def width(n: int) -> str:
        return f"{n / total * 100:.2f}%"

    stats = [
        ("done", progress.done),
        ("succeeded", progress.succeeded),
        ("failed", progress.failed),
        ("in flight", progress.in_flight),
    ]
    cells = "".join(
        f'<div class="stat"><b data-stat="{esc(name.replace(" ", "-"))}">{n}</b>'
        f"<span>{esc(name)}</span></div>"
        for name, n in stats
    )
    cells += (
        f'<div class="stat"><b data-stat="rate">{progress.rate:.2f}</b>'
        f'<span>runs/s over <span data-stat="rate-over">{esc(progress.rate_over)}</span>'
        "</span></div>"
    )
    stalled = (
        '<p class="note" data-stat="stalled">nothing changed for a while: runs in flight may '
        "have stopped; run the same batch again to finish them</p>"
        if progress.stalled
        else ""
    )
    return (
        f'<div class="batch-progress" data-progress-url="/api{esc(batch_url(progress.batch))}" '
        f'data-live="{1 if progress.in_flight else 0}"><div class="progress">{cells}</div>'
        f'<div class="meter"><span class="done" style="width:{width(progress.succeeded)}">'
        f'</span><span class="failed" style="width:{width(progress.failed)}"></span>'
        f'<span class="inflight" style="width:{width(progress.in_flight)}"></span></div>'
        f"{stalled}</div>"
    )


def batch_page(
    key: str,
    progress: BatchProgress,
    summaries: Sequence[RunSummary],
    flt: RunFilter,
    next_cursor: str | None,
    images: Sequence[tuple[str, SavedImage]],
    *,
    store: str,
) -> str:
    base = batch_url(key)
    gallery = ""
    if images:
        gallery = (
            f"<h2>images ({len(images)} on this page)</h2>"
            '<p class="muted">hover an image for its prompt, seed and cost</p>'
            + gallery_block(
                [image for _, image in images],
                lambda image: next(image_url(r, i) for r, i in images if i is image),
            )
        )
    body = (
        f"<h1>batch <code>{esc(key)}</code></h1>"
        f'<p class="muted"><a href="{esc(base)}/report.html">download report</a> · '
        f'<a href="{esc(base)}/junit.xml">JUnit XML</a></p>'
        f"{progress_block(progress)}{gallery}<h2>runs</h2>"
        f"{filter_form(flt, base, fixed=('batch',))}{summary_table(summaries)}"
        f"{pager(flt, next_cursor, base)}"
    )
    return layout(f"batch {key}", body, store=store, script=True)


def error_page(status: int, what: str, why: str | None, *, store: str) -> str:
    body = f"<h1>{status}</h1><p>{esc(what)}</p>"
    if why:
        body += f'<p class="muted">{esc(why)}</p>'
    body += '<p><a href="/">all runs</a></p>'
    return layout(str(status), body, store=store)


__all__ = [
    "batch_page",
    "batch_url",
    "error_page",
    "image_url",
    "label_link",
    "layout",
    "list_page",
    "progress_block",
    "run_page",
    "run_url",
    "summary_table",
]
