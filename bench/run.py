"""Run every benchmark module (bench/bench_*.py) and write bench/results.json.

Each module exposes ``run() -> list[dict]`` returning metrics shaped as
``{"name", "value", "unit", "baseline", "ratio", "goal"}`` (baseline/ratio/goal may be None).
``python bench/run.py [NAME_SUBSTRING ...]`` runs only the modules whose name contains one of them.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "forwardfactor.settings")


def discover(filters: list[str]) -> list[str]:
    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    return [n for n in names if not filters or any(f in n for f in filters)]


def format_value(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def main(argv: list[str]) -> int:
    import django

    django.setup()
    metrics: list[dict] = []
    failures: list[str] = []
    for name in discover(argv):
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        try:
            module = importlib.import_module(f"bench.{name}")
            metrics.extend(module.run())
        except Exception:
            traceback.print_exc()
            failures.append(name)
        print(f"   ({time.perf_counter() - started:.1f} s)", flush=True)
    (HERE / "results.json").write_text(json.dumps({"metrics": metrics}, indent=2) + "\n")
    header = ("name", "value", "unit", "baseline", "ratio", "goal")
    rows = [header] + [tuple(format_value(m.get(k)) for k in header) for m in metrics]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)))
    print(f"wrote {HERE / 'results.json'}")
    if failures:
        print(f"benchmarks that failed: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
