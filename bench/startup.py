"""Bench: start-up of `release --help` vs fabfuel's `ecs --help` (target: ratio <= 0.35).

Both are console scripts of the same virtualenv, run as whole processes,
alternating, several times each; the table shows the medians.

    .venv/bin/python bench/startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def once(command: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr[-500:]!r}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    ours = [str(BIN / "release"), "--help"]
    peer = [str(BIN / "ecs"), "--help"]
    once(ours), once(peer)  # warm the file cache for both
    mine, theirs = [], []
    for _ in range(args.runs):
        mine.append(once(ours))
        theirs.append(once(peer))
    ours_s, peer_s = statistics.median(mine), statistics.median(theirs)
    print(f"{'command':<16} {'runs':>5} {'median s':>9} {'min s':>7}")
    print(f"{'release --help':<16} {args.runs:>5} {ours_s:>9.3f} {min(mine):>7.3f}")
    print(f"{'ecs --help':<16} {args.runs:>5} {peer_s:>9.3f} {min(theirs):>7.3f}")
    print(f"ratio: release/ecs = {ours_s / peer_s:.2f}x (target <= 0.35x)")


if __name__ == "__main__":
    main()
