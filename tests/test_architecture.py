"""The shape of the code, pinned: which packages may import which (layers import downward only),
no module takes another package's ``_private`` names, and the names ``weft`` exports.

The layers, bottom up (docs/DEVELOPING.md draws them):

- ``errors``, ``secrets``, ``effects`` (the protocols of HTTP, time and recording, and their
  implementations);
- ``expressions`` (the pure core) → ``openapi`` → ``document``;
- ``store`` (run records);
- ``engine`` (the step loop) → ``api`` (the library's entry points) → ``batch``;
- ``progress`` (what runs and batches print) and ``civitai``;
- ``reports`` (HTML, JUnit, HAR of runs) → ``ui`` (``weft ui``);
- the command line: ``cli`` and every package's ``commands`` module, which may import the layer
  above their package (``cli`` helpers, ``progress``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import weft

SRC = Path(weft.__file__).parent

# package -> the packages it may import (besides itself)
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "secrets": set(),
    "effects": {"errors", "secrets"},
    "expressions": {"errors"},
    "openapi": {"errors", "expressions"},
    "document": {"errors", "expressions", "openapi", "weft"},  # weft: __version__ (SARIF)
    "store": {"errors", "effects", "secrets"},
    "engine": {"errors", "secrets", "effects", "expressions", "openapi", "document"},
    "api": {"errors", "secrets", "effects", "engine", "document", "store"},
    "batch": {"errors", "secrets", "effects", "engine", "document", "store", "api"},
    "progress": {"engine", "batch"},
    "testing": {"errors", "effects", "store"},
    "civitai": {
        "errors",
        "secrets",
        "effects",
        "engine",
        "document",
        "store",
        "api",
        "batch",
        "progress",
        "testing",
    },
    # reports of runs (HTML, JUnit, HAR) and the web UI over the run store
    "reports": {"errors", "secrets", "effects", "engine", "store", "weft"},  # weft: __version__
    "ui": {"errors", "secrets", "effects", "engine", "store", "reports", "weft"},
}
# the command line may use everything below it
CLI_EXTRA = {"cli", "progress"}
TOP = {"cli", "__main__", "__init__"}


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module imported, names taken) for every ``weft`` import of a file."""
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "weft":
            found.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names if a.name.split(".")[0] == "weft"]
    return found


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "weft"


def test_layers_import_downward_only() -> None:
    wrong: list[str] = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).with_suffix("")
        package = rel.parts[0]
        if package in TOP:
            continue
        allowed = ALLOWED[package] | {package}
        if rel.name == "commands":
            allowed |= CLI_EXTRA
        for module, _ in _imports(path):
            target = _package(module)
            if target not in allowed:
                wrong.append(f"weft/{rel}.py imports {module} ({package} -> {target})")
    assert wrong == []


def test_no_module_takes_another_packages_private_names() -> None:
    taken: list[str] = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).with_suffix("")
        for module, names in _imports(path):
            if _package(module) == rel.parts[0]:
                continue
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            segments = [s for s in module.split(".")[1:] if s.startswith("_") and s != "__init__"]
            if private or segments:
                taken.append(f"weft/{rel}.py: from {module} import {', '.join(names)}")
    assert taken == []


def test_every_package_is_placed_in_a_layer() -> None:
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    modules = {p.stem for p in SRC.glob("*.py")}
    assert (packages | modules) - TOP - {"py"} <= set(ALLOWED) | {"cli"}


def test_the_public_names_of_weft() -> None:
    assert weft.__all__ == [
        "__version__",
        "Clock",
        "Failure",
        "FailureKind",
        "HttpRequest",
        "HttpResponse",
        "RetryPolicy",
        "RunEvent",
        "RunOptions",
        "RunRecorder",
        "RunResult",
        "RunStatus",
        "RunStore",
        "StepResult",
        "Transport",
        "TransportError",
        "WeftError",
        "load_document",
        "open_store",
        "resume",
        "resume_async",
        "run",
        "run_async",
    ]
    for name in weft.__all__:
        assert getattr(weft, name) is not None, name
    from weft.engine.options import RunOptions
    from weft.engine.result import RunResult

    assert weft.RunOptions is RunOptions and weft.RunResult is RunResult


def test_import_weft_is_cheap() -> None:
    import subprocess
    import sys

    code = "import sys, weft; print(sorted(m for m in sys.modules if m.startswith('weft')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['weft']"
