"""bench_cluster.py's CPU split: the CPU time of this process's descendants, by program."""

from __future__ import annotations

import subprocess
import sys

from tests.scripts_loader import load_script

bench = load_script("bench_cluster")

BUSY = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\ntime.sleep(30)"


def test_a_childs_cpu_time_is_counted_under_its_program() -> None:
    # `exec -a` names the busy child as Redis would be named on its command line; other tests'
    # servers may be our descendants too, so only the growth is the child's.
    before = bench.cpu_seconds_by_program().get("redis", 0.0)
    child = subprocess.Popen(["bash", "-c", f'exec -a redis-server {sys.executable} -c "$0"', BUSY])
    try:
        used = 0.0
        for _ in range(100):  # until it has spent its 0.3 s of CPU
            used = bench.cpu_seconds_by_program().get("redis", 0.0) - before
            if used >= 0.25:
                break
            subprocess.run(["sleep", "0.05"], check=True)
        assert 0.25 <= used < 5
    finally:
        child.kill()
        child.wait()
