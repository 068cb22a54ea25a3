"""The effects weft's engine is handed instead of doing I/O itself: HTTP (:class:`Transport`),
time (:class:`Clock`) and run recording (:class:`RunRecorder`), with their production and test
implementations. This is the bottom layer: it imports nothing of weft but ``errors`` and
``secrets``.

```python
from weft.effects import HttpRequest, HttpResponse, Transport, TransportError, Clock, RunRecorder
from weft.effects.clock import SystemClock, ManualClock
from weft.effects.aiohttp_transport import AiohttpTransport
```
"""

from __future__ import annotations

from weft.effects.clock import Clock, ManualClock, SystemClock
from weft.effects.http import (
    HttpRequest,
    HttpResponse,
    Transport,
    TransportError,
    TransportErrorKind,
)
from weft.effects.recording import Frozen, NullRecorder, RunRecorder

__all__ = [
    "Clock",
    "Frozen",
    "HttpRequest",
    "HttpResponse",
    "ManualClock",
    "NullRecorder",
    "RunRecorder",
    "SystemClock",
    "Transport",
    "TransportError",
    "TransportErrorKind",
]
