#!/usr/bin/env python3
"""Compares two builds of dill-guard on the same inputs, run alternately, by CPU time.

    python3 bench/ab.py OLD_BINARY NEW_BINARY [--runs N]

Build the older one from a worktree, for example:

    git worktree add /tmp/old <commit> && (cd /tmp/old && cargo build --release)
    python3 bench/ab.py /tmp/old/target/release/dill-guard target/release/dill-guard

Uses the inputs `bench/run.py` generates under target/bench (run it once first): the hook on the
50,000-file index (one staged file has a finding, with no outside data flowing into it), a full
scan of this machine's standard library and site-packages (every directory walked), dill's
own sources (80 findings), the annotated fixtures (where the flows are), and the standard library
with `import dill` prepended to every file. Prints a Markdown table of medians: CPU (user +
system) and wall time in milliseconds, and peak memory.
"""

import argparse
import importlib.util
import os
import statistics
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(cmd, cwd):
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    bench = load_bench()
    repo, _ = bench.big_repository()
    _, lib_repo = bench.python_corpus()
    # From the root, as a project is checked (`dill-guard .`).
    full = ["-q", "--config", str(bench.walk_everything()), "."]
    everywhere = ["-q", "--config", str(bench.walk_everything()), str(bench.WORK / "dill-everywhere")]
    cases = [
        ("hook: 50,000-file index, 5 staged files", ["--staged", "-q"], repo, args.runs * 2),
        ("full scan: the standard library and site-packages", full, lib_repo, max(5, args.runs // 3)),
        ("dill's sources (80 findings)", ["-q", str(bench.WORK / "dill-src")], bench.WORK, args.runs),
        ("the annotated fixtures", ["-q", str(ROOT / "tests" / "fixtures")], bench.WORK, args.runs),
        ("every file uses dill", everywhere, bench.WORK, max(3, args.runs // 7)),
    ]
    old, new = os.path.abspath(args.old), os.path.abspath(args.new)
    print("| case | old CPU ms | new CPU ms | new/old | old wall ms | new wall ms | old RSS MiB | new RSS MiB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, flags, cwd, runs in cases:
        results = {old: [], new: []}
        for i in range(runs):
            for exe in (old, new) if i % 2 == 0 else (new, old):
                results[exe].append(run([exe, *flags], cwd))

        def median(exe, k):
            return statistics.median(r[k] for r in results[exe])

        o, n = median(old, 1) * 1000, median(new, 1) * 1000
        print(f"| {name} | {o:.1f} | {n:.1f} | {n / o:.2f} | {median(old, 0) * 1000:.1f} | "
              f"{median(new, 0) * 1000:.1f} | {median(old, 2) / 1024:.0f} | {median(new, 2) / 1024:.0f} |",
              flush=True)


if __name__ == "__main__":
    main()
