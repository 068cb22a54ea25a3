"""weft: run OpenAPI Arazzo workflows exactly as the specification says.

The library's public face. Everything is imported on first use, so ``import weft`` (and
``weft --version``) stays cheap::

    import weft
    result = weft.run("flow.arazzo.yaml", inputs={"petId": 7},
                      options=weft.RunOptions.build(servers={"petstore": "http://127.0.0.1:8080"}))
    result.status, result.outputs, result.error      # weft.RunStatus, dict, weft.Failure | None
"""

from __future__ import annotations

__version__ = "0.2.0"

# public name -> the module that defines it
_EXPORTS = {
    "run": "weft.api",
    "run_async": "weft.api",
    "resume": "weft.api",
    "resume_async": "weft.api",
    "load_document": "weft.api",
    "RunOptions": "weft.engine.options",
    "RetryPolicy": "weft.engine.options",
    "RunResult": "weft.engine.result",
    "StepResult": "weft.engine.result",
    "RunEvent": "weft.engine.result",
    "RunStatus": "weft.engine.failure",
    "Failure": "weft.engine.failure",
    "FailureKind": "weft.engine.failure",
    "Transport": "weft.effects",
    "TransportError": "weft.effects",
    "HttpRequest": "weft.effects",
    "HttpResponse": "weft.effects",
    "Clock": "weft.effects",
    "RunRecorder": "weft.effects",
    "RunStore": "weft.store",
    "open_store": "weft.store",
    "WeftError": "weft.errors",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> object:
    """The public names, each imported from its module on first use."""
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'weft' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
