"""The cold book build on an idle machine and with one CPU-bound process beside it (a busy core),
measured in one run: goal loaded / idle <= 1.3.

    python bench/bench_build_load.py            # the full build (scripts/build_book.sh), twice each
    python bench/bench_build_load.py --small    # the small build (tiny sizes), for a quick reading
    python bench/bench_build_load.py --repeat 1

Each run starts from a cold cache (the build's results and disk cache removed first) and the
runs alternate idle / loaded. Absolute times on a shared machine vary with other load: compare
only the ratio of one run's numbers, min and median.
"""

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from common import report  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def cold_build(small: bool) -> float:
    for d in ("notebooks/_cache", "notebooks/_results", "_build/html", "_build/jupyter_execute", "_build/.doctrees",
              "_build/small"):
        shutil.rmtree(ROOT / d, ignore_errors=True)
    t = time.perf_counter()
    r = subprocess.run(["bash", "scripts/build_book.sh"] + (["--small"] if small else []), cwd=ROOT,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode:
        raise SystemExit(f"the build failed:\n{r.stderr[-3000:]}")
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--small", action="store_true", help="the small build instead of the full one")
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()
    idle, loaded = [], []
    for _ in range(a.repeat):
        idle.append(cold_build(a.small))
        print(f"idle cold build: {idle[-1]:.0f} s", flush=True)
        burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            loaded.append(cold_build(a.small))
        finally:
            burner.kill()
        print(f"cold build beside one busy core: {loaded[-1]:.0f} s", flush=True)
    report(f"{'small' if a.small else 'full'} cold build: beside one busy core / idle", loaded, idle, goal="<= 1.3")


if __name__ == "__main__":
    main()
