"""CLI cold start: ``weft --version`` and ``weft validate`` on the seed (two sources).

Each command runs as a fresh process N times, interpreter start included, through the installed
``weft`` console script (what users run). Prints median and best wall time in ms and the ratio
to a bare ``python -c pass`` start measured in the same run. Budget for validate: <= 300 ms.
Usage: python bench/bench_validate.py [N]
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = (
    ROOT.parent / "shared" / "seed" / "arazzo" / "civitai-model-version-to-generation-workflow.yml"
)
BUDGET_MS = 300.0


def _time(cmd: list[str], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run(cmd, check=False, capture_output=True)
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    script = shutil.which("weft", path=str(Path(sys.executable).parent)) or shutil.which("weft")
    weft = [script] if script else [sys.executable, "-m", "weft"]
    base = statistics.median(_time([sys.executable, "-c", "pass"], n))
    commands = [("weft --version", [*weft, "--version"])]
    if SEED.exists():
        commands.append(("weft validate SEED", [*weft, "validate", str(SEED)]))
    else:
        print(f"seed not found ({SEED}): validate not measured")
    print(f"| command | median (ms) | best (ms) | × python start ({base:.0f} ms) |")
    print("|---|---|---|---|")
    over = False
    for label, cmd in commands:
        runs = _time(cmd, n)
        med = statistics.median(runs)
        print(f"| `{label}` | {med:.0f} | {min(runs):.0f} | {med / base:.1f} |")
        over |= label.startswith("weft validate") and med > BUDGET_MS
    print(f"budget for weft validate: {BUDGET_MS:.0f} ms")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
