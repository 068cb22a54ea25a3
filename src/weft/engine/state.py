"""The resumable snapshot of a run: small, JSON-serialisable, and free of secrets.

A snapshot lists the stack of workflow frames (the run's workflow first, then any nested
workflow being executed by a step), each with its inputs, the outputs of the steps done so far,
the index of the next step, visit and retry counters, and any pending delay. ``inFlight`` names
the step attempt whose request may be on the wire (set by ``request_sending``, cleared by the
next checkpoint). Secrets are replaced by placeholders (``{"$weftSecret": name}``) that resume
refills from re-supplied inputs or the environment (``WEFT_INPUT_<NAME>``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from weft.engine.plan import WorkflowPlan
from weft.errors import UsageError
from weft.expressions.context import ABSENT, EvalContext
from weft.secrets import MASK, SecretSet, is_placeholder, placeholder

SNAPSHOT_VERSION = 1
_NO_KEY: Any = object()


@dataclass(slots=True)
class Frame:
    """One workflow being executed."""

    plan: WorkflowPlan
    inputs: dict[str, Any]
    ref: str  # how the parent named this workflow ("" for the run's workflow)
    depth: int = 0
    index: int = 0  # next step to execute
    step_outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    visits: dict[str, int] = field(default_factory=dict)
    retries: dict[str, int] = field(default_factory=dict)
    delay: float | None = None  # an explicit delay before the next step (retry action)
    retry_after: dict[str, float] = field(default_factory=dict)
    last_ctx: EvalContext | None = None
    deps_done: bool = False
    # a workflow a goto/retry action of the step at ``index`` is running (kind, ref, inputs,
    # step): resume enters it again instead of re-running the step whose action started it
    transfer: dict[str, Any] | None = None
    # masked copies for snapshots, by part: (the object masked, secrets version, masked copy)
    masked: dict[str, tuple[Any, Any, Any]] = field(default_factory=dict, repr=False, compare=False)


_PLAIN = frozenset({int, float, bool, type(None)})  # never masked, never containers


def _mask_value(
    value: Any, secrets: SecretSet, by_value: Mapping[str, str], name: str, key: Any = _NO_KEY
) -> Any:
    """A copy of ``value`` with secrets replaced by placeholders. The value's name (for a
    placeholder) is ``name``, or ``name.key`` when ``key`` is given: built only when needed."""
    if type(value) in _PLAIN:
        return value
    if isinstance(value, str):
        if value in by_value:
            return placeholder(by_value[value])
        if secrets.is_secret(value):
            return placeholder(name if key is _NO_KEY else f"{name}.{key}")
        # a secret inside a longer text (a server's echo of the request) cannot be refilled
        return secrets.mask_str(value) if secrets else value
    if key is not _NO_KEY:
        name = f"{name}.{key}"
    if type(value) is dict or isinstance(value, Mapping):
        return {k: _mask_value(v, secrets, by_value, name, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_value(v, secrets, by_value, f"{name}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, bytes):
        return None
    if value is ABSENT:
        return None
    return value


def _as_is(value: Any, secrets: SecretSet) -> bool:
    """Whether a step's outputs go into snapshots as they are: JSON through and through (no
    bytes, no absent value) and no secret inside. Then the snapshot holds the very object the
    engine holds (never edited: the engine replaces a step's outputs), with no copy made, and
    the store serialises it once for every state that holds it."""
    if type(value) is not dict:
        return False
    if secrets:
        # ``mask`` returns the value itself only when its JSON text holds no secret
        return secrets.mask(value) is value
    try:
        orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        return False
    return True


def note_unmasked(
    frame: Frame,
    sid: str,
    outputs: dict[str, Any],
    secrets: SecretSet,
    secret_inputs: Mapping[str, str],
) -> None:
    """``secrets.mask(outputs)`` gave ``outputs`` back: with secrets known, that means JSON
    through and through and no secret inside, so snapshots take it as it is (without looking
    at it again, see :func:`_as_is`)."""
    if secrets and type(outputs) is dict:
        frame.masked[sid] = (outputs, _secrets_version(secrets, secret_inputs), outputs)


def _mask_inputs(
    frame: Frame, secrets: SecretSet, secret_inputs: Mapping[str, str]
) -> dict[str, Any]:
    inputs = {}
    for k, v in frame.inputs.items():
        if isinstance(v, str) and v in secret_inputs:
            # the run input it came from refills it (a nested workflow's input is often a
            # parent's secret input passed on under another name)
            inputs[k] = placeholder(secret_inputs[v])
        elif k in frame.plan.secret_inputs or (isinstance(v, str) and secrets.is_secret(v)):
            inputs[k] = placeholder(k)
        else:
            inputs[k] = _mask_value(v, secrets, secret_inputs, f"inputs.{k}")
    return inputs


def _secrets_version(secrets: SecretSet, secret_inputs: Mapping[str, str]) -> int:
    # both only ever grow: their sizes tell whether a masked copy may be stale
    return secrets.version * 1_000_003 + len(secret_inputs)


def frame_to_dict(
    frame: Frame, secrets: SecretSet, secret_inputs: Mapping[str, str]
) -> dict[str, Any]:
    """``secret_inputs`` maps a secret value to the input name that refills it.

    Inputs and step outputs are masked once and reused while they (the same objects: the engine
    replaces a step's outputs, never edits them) and the known secrets stay the same.
    """
    version = _secrets_version(secrets, secret_inputs)
    cache = frame.masked
    hit = cache.get("")
    if hit is not None and hit[0] is frame.inputs and hit[1] == version:
        inputs = hit[2]
    else:
        inputs = _mask_inputs(frame, secrets, secret_inputs)
        cache[""] = (frame.inputs, version, inputs)
    outputs = {}
    for sid, out in frame.step_outputs.items():
        hit = cache.get(sid)
        if hit is not None and hit[0] is out and hit[1] == version:
            outputs[sid] = hit[2]
        else:
            if _as_is(out, secrets):
                masked = out
            else:
                masked = _mask_value(out, secrets, secret_inputs, f"steps.{sid}.outputs")
            cache[sid] = (out, version, masked)
            outputs[sid] = masked
    return {
        "workflowId": frame.plan.workflow_id,
        "ref": frame.ref,
        "depth": frame.depth,
        "index": frame.index,
        "inputs": inputs,
        "stepOutputs": outputs,
        "visits": dict(frame.visits),
        "retries": dict(frame.retries),
        "delay": frame.delay,
        "retryAfter": dict(frame.retry_after),
        "depsDone": frame.deps_done,
        **({"transfer": _mask_transfer(frame, secrets, secret_inputs)} if frame.transfer else {}),
    }


def _mask_transfer(
    frame: Frame, secrets: SecretSet, secret_inputs: Mapping[str, str]
) -> dict[str, Any]:
    transfer = dict(frame.transfer or {})
    transfer["inputs"] = _mask_value(transfer.get("inputs", {}), secrets, secret_inputs, "transfer")
    return transfer


def refill(value: Any, supplied: Mapping[str, Any], run_id: str = "RUN_ID") -> Any:
    """Replace placeholders by re-supplied inputs or ``WEFT_INPUT_<NAME>`` variables."""
    if is_placeholder(value):
        name = value["$weftSecret"]
        if name in supplied:
            return supplied[name]
        env = "WEFT_INPUT_" + "".join(c if c.isalnum() else "_" for c in name).upper()
        if env in os.environ:
            return os.environ[env]
        raise UsageError(
            f"the secret {name!r} is needed to resume and was not stored",
            why="secrets never reach the run store",
            hint=f"pass it again: weft resume {run_id} -i {name}=… (or set {env})",
        )
    if isinstance(value, Mapping):
        return {k: refill(v, supplied, run_id) for k, v in value.items()}
    if isinstance(value, list):
        return [refill(v, supplied, run_id) for v in value]
    return value


def frame_from_dict(
    plan: WorkflowPlan, d: Mapping[str, Any], supplied: Mapping[str, Any], run_id: str = "RUN_ID"
) -> Frame:
    inputs = dict(d.get("inputs", {}))
    for name, value in inputs.items():
        # a store may mask a secret-looking value itself ("***"): refill it like a placeholder
        if value == MASK and (name in plan.secret_inputs or name in supplied):
            inputs[name] = placeholder(name)
    return Frame(
        plan=plan,
        inputs=refill(inputs, supplied, run_id),
        ref=d.get("ref", ""),
        depth=int(d.get("depth", 0)),
        index=int(d.get("index", 0)),
        step_outputs=refill(dict(d.get("stepOutputs", {})), supplied, run_id),
        visits={k: int(v) for k, v in d.get("visits", {}).items()},
        retries={k: int(v) for k, v in d.get("retries", {}).items()},
        delay=d.get("delay"),
        retry_after={k: float(v) for k, v in d.get("retryAfter", {}).items()},
        deps_done=bool(d.get("depsDone", False)),
        transfer=_refill_transfer(d.get("transfer"), supplied),
    )


def _refill_transfer(
    transfer: Mapping[str, Any] | None, supplied: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The recorded transfer; its inputs are only needed if the workflow never started (its
    frame restores its own inputs), so a secret that cannot be refilled leaves them out."""
    if not transfer:
        return None
    out = dict(transfer)
    try:
        out["inputs"] = refill(out.get("inputs") or {}, supplied)
    except UsageError:
        out["inputs"] = {}
    return out


__all__ = ["SNAPSHOT_VERSION", "Frame", "frame_from_dict", "frame_to_dict", "refill"]
