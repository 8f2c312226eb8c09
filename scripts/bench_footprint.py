"""The handoff service's start-up time and resident memory, optionally beside an older revision.

Starts ``python -m handoff serve`` (migrated SQLite database, the trained
model's safety net loaded, as ``make run`` does), measures the seconds until
``/healthz`` answers, waits ``--settle-s`` (default 60 s, as the target says:
one minute after ready), exercises the public status list and the resident
page once, and reads the process's resident memory (VmRSS) and its peak
(VmHWM) from ``/proc``. Each variant runs ``--runs`` times; the median is shown.

``--against REV`` measures a git revision too, in a temporary worktree, in the
same run (these machines are noisy: compare side by side). ``--against-model``
gives that revision the model it was trained with (the detector's file format
may differ); the default is the current model.

    .venv/bin/python scripts/bench_footprint.py
    .venv/bin/python scripts/bench_footprint.py --against 8feb0e3 --against-model /tmp/old.tar.gz
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from opastin.processes import free_port, wait_until_answering  # noqa: E402

MODEL = ROOT / "models" / "opastin.tar.gz"


@dataclass(frozen=True)
class Footprint:
    """One measured start of the service."""

    ready_s: float
    rss_mb: float
    peak_mb: float


def memory_mb(pid: int, field: str) -> float:
    """``VmRSS`` or ``VmHWM`` of process ``pid`` in megabytes (10^6 bytes)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError(f"no {field} for process {pid}")


def measure(tree: Path, settle_s: float) -> Footprint:
    """Start the service of source tree ``tree`` once; its ready time and memory after ``settle_s``."""
    with tempfile.TemporaryDirectory(prefix="opastin-footprint-") as tmp:
        env = {
            "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
            "PYTHONPATH": str(tree),
            "HANDOFF_VAR_DIR": tmp,
            "DATABASE_URL": f"sqlite:///{tmp}/handoff.db",
            "HANDOFF_API_TOKEN": "footprint-benchmark-token",
        }
        python = sys.executable
        subprocess.run([python, "-m", "handoff", "migrate"], cwd=tree, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        port = free_port()
        command = [python, "-m", "handoff", "serve", "--port", str(port), "--log-level", "warning"]
        started = time.monotonic()
        server = subprocess.Popen(command, cwd=tree, env=env, stdout=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_answering(f"{base}/healthz", [server], timeout_s=60)
            ready_s = time.monotonic() - started
            time.sleep(settle_s)
            for path in ("/api/public/teams", "/"):
                with urllib.request.urlopen(base + path, timeout=10) as response:
                    response.read()
            return Footprint(ready_s, memory_mb(server.pid, "VmRSS"), memory_mb(server.pid, "VmHWM"))
        finally:
            server.terminate()
            server.wait(timeout=30)


@contextlib.contextmanager
def worktree(revision: str, model: Path) -> Iterator[Path]:
    """A temporary checkout of ``revision`` with ``model`` as its trained model."""
    with tempfile.TemporaryDirectory(prefix="opastin-rev-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(tree), revision],
                       cwd=ROOT, check=True)  # fmt: skip
        try:
            (tree / "models").mkdir(exist_ok=True)
            shutil.copy(model, tree / "models" / "opastin.tar.gz")
            yield tree
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=True)


def report(name: str, runs: list[Footprint]) -> str:
    """One line of medians (and the spread of RSS) for a variant."""
    ready = statistics.median(run.ready_s for run in runs)
    rss = statistics.median(run.rss_mb for run in runs)
    peak = statistics.median(run.peak_mb for run in runs)
    spread = f"{min(r.rss_mb for r in runs):.0f}–{max(r.rss_mb for r in runs):.0f}"
    return f"{name:<24} ready {ready:5.2f} s   RSS {rss:6.1f} MB ({spread})   peak {peak:6.1f} MB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settle-s", type=float, default=60, help="seconds after ready (default 60)")
    parser.add_argument("--runs", type=int, default=3, help="starts per variant (default 3)")
    parser.add_argument("--against", help="a git revision to measure beside this checkout")
    parser.add_argument("--against-model", type=Path, default=MODEL, help="the model for --against")
    args = parser.parse_args()
    if not MODEL.exists():
        print("models/opastin.tar.gz is missing: run `make train` first", file=sys.stderr)
        return 2
    with contextlib.ExitStack() as stack:
        variants = {"this checkout": ROOT}
        if args.against:
            variants[f"revision {args.against}"] = stack.enter_context(
                worktree(args.against, args.against_model)
            )
        results: dict[str, list[Footprint]] = {name: [] for name in variants}
        for _ in range(args.runs):  # interleaved, so drift on the machine hits both alike
            for name, tree in variants.items():
                results[name].append(measure(tree, args.settle_s))
        print(f"Handoff service, {args.runs} starts each, memory {args.settle_s:.0f} s after ready:")
        for name, runs in results.items():
            print(report(name, runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
