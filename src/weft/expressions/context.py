"""The evaluation context: everything a runtime expression can read.

Pure data. The engine builds one per step attempt from live state; the evaluator only reads it.
``ABSENT`` marks a value that does not exist (distinct from ``None``, which is JSON ``null``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final


class _Absent:
    """Singleton type of :data:`ABSENT`."""

    _instance: _Absent | None = None
    __slots__ = ()

    def __new__(cls) -> _Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ABSENT"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "ABSENT"


ABSENT: Final = _Absent()
"""A value that does not exist (a missing input, a pointer into nothing)."""

Absent = _Absent

_EMPTY: Mapping[str, Any] = {}


@dataclass(slots=True)
class EvalContext:
    """What runtime expressions evaluate against.

    * ``request_headers`` / ``response_headers``: keys are matched case-insensitively by the
      evaluator (it lower-cases the name it looks up and the engine stores keys lower-cased).
    * ``request_body`` / ``response_body``: the parsed value: JSON as Python values, XML and
      text as ``str``, other media as ``bytes``; ``ABSENT`` when there is none.
    * ``steps``: stepId -> that step's outputs (current workflow).
    * ``workflows``: workflowId -> ``{"inputs": {...}, "outputs": {...}}``.
    * ``source_descriptions``: name -> ``{"url": ..., "type": ..., <operationId|workflowId>: obj}``.
    * ``components``: ``inputs|parameters|successActions|failureActions`` -> name -> object.
    * ``message_headers`` / ``message_payload`` / ``self_uri``: Arazzo 1.1 ``$message.header.X``,
      ``$message.payload`` (AsyncAPI steps) and ``$self``.
    """

    url: Any = ABSENT
    method: Any = ABSENT
    status_code: Any = ABSENT
    request_headers: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    request_query: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    request_path: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    request_body: Any = ABSENT
    response_headers: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    response_body: Any = ABSENT
    inputs: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    outputs: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    steps: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: _EMPTY)
    workflows: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: _EMPTY)
    source_descriptions: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: _EMPTY)
    components: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: _EMPTY)
    message_headers: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    message_payload: Any = ABSENT
    self_uri: Any = ABSENT
