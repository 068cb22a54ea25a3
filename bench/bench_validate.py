"""Cold ``weft validate`` on the seed (two sources), including interpreter start.

Prints the median and best wall time in ms over N runs, and the ratio to a bare
``python -c pass`` start measured in the same run. Budget: <= 300 ms.
Usage: python bench/bench_validate.py [N]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = (
    ROOT.parent / "shared" / "seed" / "arazzo" / "civitai-model-version-to-generation-workflow.yml"
)


def _time(cmd: list[str], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run(cmd, check=False, capture_output=True)
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    if not SEED.exists():
        print(f"seed not found: {SEED}")
        return 0
    base = _time([sys.executable, "-c", "pass"], n)
    runs = _time([sys.executable, "-m", "weft", "validate", str(SEED)], n)
    med, best, base_med = statistics.median(runs), min(runs), statistics.median(base)
    print(
        f"weft validate (seed, cold): median {med:.0f} ms, best {best:.0f} ms "
        f"(python start {base_med:.0f} ms, ratio {med / base_med:.1f}x); budget 300 ms"
    )
    return 0 if med <= 300 else 1


if __name__ == "__main__":
    sys.exit(main())
