"""Run every benchmark module (bench/bench_*.py) and write bench/results.json.

Each module exposes ``run() -> list[dict]`` returning metrics shaped as
``{"name", "value", "unit", "baseline", "ratio", "goal"}`` (baseline/ratio/goal may be None).
``python bench/run.py [NAME_SUBSTRING ...]`` runs only the modules whose name contains one of them;
their metrics replace that module's in bench/results.json and the other modules' stay, so the file
holds the latest figure of every benchmark, each with its module and the date it was measured.
Each module runs in a process of its own: benchmarks reconfigure Django, Celery and the market
provider, and one must not inherit another's connections or caches.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
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


def run_one(name: str, out: Path) -> None:
    """Child process: run one module and write its metrics to ``out``."""
    import django

    django.setup()
    module = importlib.import_module(f"bench.{name}")
    out.write_text(json.dumps(module.run()))


def main(argv: list[str]) -> int:
    if argv[:1] == ["--one"]:
        run_one(argv[1], Path(argv[2]))
        return 0
    metrics: list[dict] = []
    failures: list[str] = []
    modules = discover(argv)
    for name in modules:
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as scratch:
            out = Path(scratch) / "metrics.json"
            child = subprocess.run([sys.executable, __file__, "--one", name, str(out)], cwd=HERE.parent)
            if child.returncode == 0 and out.exists():
                measured = {"bench": name, "measured_on": date.today().isoformat()}
                metrics.extend({**metric, **measured} for metric in json.loads(out.read_text()))
            else:
                failures.append(name)
        print(f"   ({time.perf_counter() - started:.1f} s)", flush=True)
    kept = [metric for metric in _recorded() if metric.get("bench") not in modules]
    (HERE / "results.json").write_text(json.dumps({"metrics": kept + metrics}, indent=2) + "\n")
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


def _recorded() -> list[dict]:
    """The metrics of earlier runs (none when the file is missing or unreadable)."""
    try:
        return json.loads((HERE / "results.json").read_text())["metrics"]
    except (OSError, ValueError, KeyError, TypeError):
        return []


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
