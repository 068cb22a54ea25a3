"""The pieces of a run page, as HTML text: the same for ``weft ui`` and the HTML reports.

Every value is escaped here (``esc``); callers pass data, never markup. A piece that shows an
image takes ``image_src(image) -> str`` (a URL the UI serves, or a ``data:`` URI in a report).
"""

from __future__ import annotations

import contextlib
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from html import escape
from typing import Any

import orjson

from weft.engine.failure import Failure
from weft.engine.failure_text import render_finding, render_server
from weft.reports.gallery import SavedImage
from weft.reports.timeline import Bar, Timeline
from weft.reports.view import RequestRow, RunView, StepRow

ImageSource = Callable[[SavedImage], str]
MAX_JSON = 64 * 1024  # characters of a JSON value shown before it is cut
MAX_BODY = 16 * 1024  # characters of a body shown


_HTML_SPECIAL = re.compile("[&<>\"']")


def esc(value: object) -> str:
    """``value`` as HTML text (attribute-safe)."""
    text = value if type(value) is str else str(value)
    return escape(text, quote=True) if _HTML_SPECIAL.search(text) else text


def when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def seconds(value: float | None) -> str:
    """``4.2 ms``, ``270 ms``, ``1.27 s``, ``12.3 s``, ``4m05s``, ``2h03m``; ``-`` when
    unknown."""
    if value is None:
        return "-"
    if value == 0:
        return "0 s"
    if value < 0.01:
        return f"{value * 1000:.1f} ms"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 10:
        return f"{value:.2f} s"
    if value < 60:
        return f"{value:.1f} s"
    if value < 3600:
        minutes, rest = divmod(int(value), 60)
        return f"{minutes}m{rest:02d}s"
    hours, rest = divmod(int(value) // 60, 60)
    return f"{hours}h{rest:02d}m"


def cost(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def badge(status: str) -> str:
    return f'<span class="badge {esc(status)}" data-status="{esc(status)}">{esc(status)}</span>'


def label_chips(labels: Mapping[str, str], link: Callable[[str, str], str | None]) -> str:
    """Chips for a run's labels; ``link(name, value)`` may turn one into a link."""
    chips = []
    for name in sorted(labels):
        value = labels[name]
        if name == "digest":
            continue  # a fingerprint of the row's values: nothing to read
        text = "civitai" if (name, value) == ("kind", "civitai-generate") else f"{name}={value}"
        cls = "chip civitai" if name == "kind" and value.startswith("civitai") else "chip"
        target = link(name, value)
        inner = esc(text) if target is None else f'<a href="{esc(target)}">{esc(text)}</a>'
        chips.append(f'<span class="{cls}" title="{esc(name)}: {esc(value)}">{inner}</span>')
    return "".join(chips)


def json_block(value: Any) -> str:
    text = orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str)
    shown = text.decode("utf-8", "replace")
    if len(shown) > MAX_JSON:
        shown = shown[:MAX_JSON] + f"\n… ({len(shown) - MAX_JSON} more characters)"
    return f'<pre class="json">{esc(shown)}</pre>'


def facts(rows: Iterable[tuple[str, str]]) -> str:
    """A definition list; values are markup already escaped by the caller."""
    inner = "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in rows)
    return f'<dl class="facts">{inner}</dl>'


# -- failures -------------------------------------------------------------------------------


def failure_block(failure: Failure, message: str | None = None) -> str:
    """The failure: its reason (rendered from its fields in one place) and the fields."""
    rows: list[tuple[str, str]] = [("kind", esc(failure.kind.value))]
    root = failure.root()
    if failure.step_id:
        where = (
            failure.step_id
            if not failure.workflow_id
            else f"{failure.workflow_id}/{failure.step_id}"
        )
        rows.append(("step", f"<code>{esc(where)}</code>"))
    if root is not failure and root.step_id:
        rows.append(
            ("failed in", f"<code>{esc(root.workflow_id or '')}/{esc(root.step_id)}</code>")
        )
    if root.status_code is not None:
        rows.append(("status", esc(root.status_code)))
    if root.transport is not None:
        rows.append(("no answer", esc(root.transport.value)))
    if root.criterion is not None:
        rows.append(("criterion", f"<code>{esc(root.criterion.condition)}</code>"))
    if root.server is not None and not root.server.empty:
        rows.append(("server said", esc(render_server(root.server))))
    if root.detail:
        rows.append(("detail", esc(root.detail)))
    if root.bound is not None:
        rows.append(
            ("bound", esc(f"{root.bound.value} {root.limit:g}" if root.limit else root.bound.value))
        )
    if root.scheme:
        rows.append(("scheme", esc(root.scheme)))
    for finding in root.findings:
        rows.append(("check", esc(render_finding(finding))))
    extra = f'<p class="muted">{esc(message)}</p>' if message else ""
    return (
        f'<div class="error" data-kind="{esc(failure.kind.value)}">'
        f'<div class="reason">{esc(failure.reason)}</div>{facts(rows)}{extra}</div>'
    )


def resume_block(view: RunView) -> str:
    command = view.resume_command
    if command is None:
        return ""
    secrets = view.secret_inputs
    again = (
        f'<div class="muted">secret inputs are not recorded; give them again: '
        f"{', '.join(f'<code>-i {esc(n)}=…</code>' for n in secrets)}</div>"
        if secrets
        else ""
    )
    why = {
        "running": "The run did not finish (it may still be running, or its process stopped).",
        "outcome_unknown": "A request may have been acted on: check the server first.",
    }.get(view.status, "The run stopped on a failure that may pass.")
    return (
        f'<div class="resume"><div>{esc(why)} Resume it with:</div>'
        f'<code class="resume-command">{esc(command)}</code>{again}</div>'
    )


# -- the timeline ---------------------------------------------------------------------------


def _nice_step(span: float) -> float:
    raw = span / 6 if span > 0 else 1.0
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return float(factor * power)
    return float(10 * power)


def _pct(value: float, span: float) -> str:
    return f"{max(min(value / span * 100, 100.0), 0.0):.3f}%"


def _bar(bar: Bar, span: float, step_label: str) -> str:
    width = _pct(bar.end - bar.start, span)
    left = _pct(bar.start, span)
    if bar.kind == "wait":
        title = (
            f"{step_label}: wait {seconds(bar.end - bar.start)} before attempt {bar.attempt + 1}"
        )
        return (
            f'<span class="bar wait" style="left:{left};width:{width}" title="{esc(title)}"></span>'
        )
    cls = "bar"
    if bar.success is False:
        cls += " fail"
    elif bar.success is None:
        cls += " unknown"
    if not bar.exact:
        cls += " approx"
    code = "no answer" if bar.status_code is None else str(bar.status_code)
    title = (
        f"{step_label} attempt {bar.attempt}: {code}, {seconds(bar.end - bar.start)}"
        f" (at {seconds(bar.start)}{'' if bar.exact else ', placed from totals'})"
    )
    return (
        f'<span class="{cls}" data-attempt="{bar.attempt}" data-code="{esc(code)}" '
        f'style="left:{left};width:{width}" title="{esc(title)}"></span>'
    )


def timeline_block(timeline: Timeline, notes: Sequence[str] = ()) -> str:
    """The step lanes on a common time axis (one bar per attempt, grey: not kept)."""
    all_notes = "".join(f'<p class="note">{esc(n)}</p>' for n in [*timeline.notes, *notes])
    if timeline.empty:
        return f'<p class="muted">no step ran</p>{all_notes}'
    span = timeline.span if timeline.span > 0 else 1.0
    step = _nice_step(span)
    ticks = []
    n = 0
    while n * step <= span * 1.0001 and n < 50:
        at = n * step
        ticks.append(f'<span class="tick" style="left:{_pct(at, span)}">{esc(seconds(at))}</span>')
        n += 1
    lanes = []
    for lane in timeline.lanes:
        label = lane.step_id if lane.workflow_id == timeline.lanes[0].workflow_id else lane.key
        bars = "".join(_bar(bar, span, label) for bar in lane.bars)
        if lane.hidden:
            title = f"{lane.hidden} attempt{'s' if lane.hidden != 1 else ''} of {label} not kept"
            width = _pct(max(lane.hidden_to - lane.hidden_from, 0.0), span)
            bars = (
                f'<span class="gap" data-hidden="{lane.hidden}" '
                f'style="left:{_pct(lane.hidden_from, span)};width:{width}" '
                f'title="{esc(title)}"></span>' + bars
            )
        count = f"×{lane.attempts}" if lane.attempts != 1 else ""
        lanes.append(
            f'<div class="lane" data-step="{esc(lane.key)}"><div class="lane-label" '
            f'title="{esc(lane.key)}">{esc(label)} <span class="count">{count}</span></div>'
            f'<div class="track">{bars}</div></div>'
        )
    legend = (
        '<div class="legend">'
        '<i style="background:var(--ok)"></i>succeeded'
        '<i style="background:var(--fail)"></i>failed'
        '<i style="background:var(--run)"></i>no outcome recorded'
        '<i style="background:var(--wait)"></i>not kept / waiting</div>'
    )
    return (
        f'<div class="timeline" data-span="{span:.6f}"><div class="axis"><div></div>'
        f'<div class="ticks">{"".join(ticks)}</div></div>{"".join(lanes)}</div>{legend}{all_notes}'
    )


# -- steps, requests, images -----------------------------------------------------------------


def steps_table(steps: Sequence[StepRow], run_workflow: str) -> str:
    if not steps:
        return '<p class="muted">no step ran</p>'
    rows = []
    for step in steps:
        name = (
            step.step_id
            if step.workflow_id == run_workflow
            else f"{step.workflow_id}/{step.step_id}"
        )
        codes = ", ".join("—" if c is None else str(c) for c in step.status_codes[-12:])
        if len(step.status_codes) > 12:
            codes = "… " + codes
        reason = esc(step.failure.reason) if step.failure is not None else ""
        outputs = json_block(step.outputs) if step.outputs else ""
        rows.append(
            f'<tr data-step="{esc(name)}"><td><code>{esc(name)}</code></td>'
            f'<td>{badge(step.status or "pending")}</td><td class="num">{step.attempts}</td>'
            f'<td class="mono">{esc(codes)}</td><td class="num">{esc(seconds(step.duration))}</td>'
            f"<td>{reason}{outputs}</td></tr>"
        )
    return (
        '<table class="steps"><thead><tr><th>step</th><th>status</th><th class="num">attempts'
        '</th><th>status codes</th><th class="num">time</th><th>outputs / reason</th></tr>'
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _headers_table(headers: Sequence[tuple[str, str]]) -> str:
    if not headers:
        return '<p class="muted">none</p>'
    rows = "".join(f'<tr><th>{esc(k)}</th><td class="mono">{esc(v)}</td></tr>' for k, v in headers)
    return f'<table class="headers">{rows}</table>'


def _content_type(headers: Sequence[tuple[str, str]] | None) -> str:
    for name, value in headers or ():
        if name.lower() == "content-type":
            return value
    return ""


def body_block(body: bytes | None, headers: Sequence[tuple[str, str]] | None) -> str:
    if not body:
        return '<p class="muted">empty</p>'
    kind = _content_type(headers)
    texty = not kind or any(
        t in kind for t in ("json", "text", "xml", "form", "javascript", "yaml")
    )
    if texty:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            texty = False
    if not texty:
        return f'<p class="muted">{len(body)} bytes{", " + esc(kind) if kind else ""}</p>'
    if "json" in kind:
        with contextlib.suppress(orjson.JSONDecodeError):
            text = orjson.dumps(orjson.loads(body), option=orjson.OPT_INDENT_2).decode()
    more = f"\n… ({len(text) - MAX_BODY} more characters)" if len(text) > MAX_BODY else ""
    return f"<pre>{esc(text[:MAX_BODY])}{esc(more)}</pre>"


def request_block(row: RequestRow, run_workflow: str) -> str:
    name = row.step_id if row.workflow_id == run_workflow else f"{row.workflow_id}/{row.step_id}"
    if row.status_code is not None:
        ok = row.success if row.success is not None else row.status_code < 400
        answer = f'<span class="{"code-ok" if ok else "code-fail"}">{row.status_code}</span>'
    else:
        answer = (
            '<span class="code-fail">no answer</span>' if row.error or row.success is False else "—"
        )
    target = f"{row.method or ''} {row.url or ''}".strip() or "(request not recorded)"
    seq = f" (#{row.seq})" if row.seq is not None and row.seq != row.attempt else ""
    parts = [f'<h4>request</h4><div class="mono">{esc(target)}</div>']
    if row.headers:
        parts.append(_headers_table(row.headers))
    if row.request_body is not None:
        parts.append(body_block(row.request_body, row.headers))
    elif row.body_bytes is not None:
        parts.append(f'<p class="muted">body: {row.body_bytes} bytes (not kept)</p>')
    parts.append(f"<h4>response</h4><div>{answer} in {esc(seconds(row.duration))}</div>")
    if row.error:
        parts.append(f'<p class="code-fail">{esc(row.error)}</p>')
    if row.response_headers is not None:
        parts.append(_headers_table(row.response_headers))
        parts.append(body_block(row.response_body, row.response_headers))
    if row.failure is not None:
        parts.append(f"<h4>failure</h4>{failure_block(row.failure)}")
    if row.outputs:
        parts.append(f"<h4>outputs</h4>{json_block(row.outputs)}")
    summary = f"{name} · attempt {row.attempt}{seq} · {target} → "
    return (
        f'<details class="req" data-step="{esc(name)}"><summary>{esc(summary)}{answer}'
        f" · {esc(seconds(row.duration))}</summary>"
        f'<div class="body">{"".join(parts)}</div></details>'
    )


def gallery_block(images: Sequence[SavedImage], image_src: ImageSource) -> str:
    if not images:
        return ""
    figures = []
    for image in images:
        caption = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in image.caption())
        alt = image.prompt or image.name
        figures.append(
            f'<figure class="shot" tabindex="0"><img src="{esc(image_src(image))}" '
            f'alt="{esc(alt)}" loading="lazy"><figcaption><dl>{caption}</dl></figcaption>'
            f'<div class="name">{esc(image.name)}</div></figure>'
        )
    return f'<div class="gallery">{"".join(figures)}</div>'


__all__ = [
    "ImageSource",
    "badge",
    "body_block",
    "cost",
    "esc",
    "facts",
    "failure_block",
    "gallery_block",
    "json_block",
    "label_chips",
    "request_block",
    "resume_block",
    "seconds",
    "steps_table",
    "timeline_block",
    "when",
]
