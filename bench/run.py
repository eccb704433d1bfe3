#!/usr/bin/env python3
"""Benchmarks dill-guard against git, ruff and bandit on the same inputs, side by side.

    python3 bench/run.py            # everything (about 10 minutes on 2 cores)
    python3 bench/run.py --quick    # fewer repetitions; no bandit on the big corpus, no
                                    # 10,000-file or 10 MB inputs, no cold build

It installs ruff and bandit into target/bench-venv (from PyPI), builds dill-guard in release
mode, generates its inputs under target/bench, and prints Markdown tables: median, min and max
wall time of whole processes, and peak memory (max RSS) of the measured process.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "target" / "bench"
VENV = ROOT / "target" / "bench-venv"
DG = ROOT / "target" / "release" / "dill-guard"
GIT_ENV = {
    **os.environ,
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    # No background gc racing the explicit one (and the measurements).
    "GIT_CONFIG_COUNT": "1",
    "GIT_CONFIG_KEY_0": "gc.auto",
    "GIT_CONFIG_VALUE_0": "0",
}

DILL_FILE = """import dill
import json


def restore(blob):
    return dill.loads(blob)


def config(raw):
    return json.loads(raw)
"""


def python_file(i):
    return f'''"""Module {i}."""
import os


def work_{i}(items):
    total = 0
    for item in items:
        if item % 3 == 0:
            total += item * {i}
        else:
            total -= os.getpid() % 7
    return total


class Model{i}:
    def __init__(self, size):
        self.size = size

    def grow(self, by):
        self.size += by
        return self.size
'''


def sh(cmd, cwd=None, env=None, check=True):
    return subprocess.run(cmd, cwd=cwd, env=env or GIT_ENV, check=check,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


LAST_CPU = []


def measure(cmd, cwd, runs, env=None, codes=(0, 1)):
    """Runs a command `runs` times; returns wall times (s) and the largest max RSS (MiB).
    The CPU time (user + system) of each run is left in LAST_CPU."""
    times, peak = [], 0
    LAST_CPU.clear()
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env or GIT_ENV,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        times.append(time.perf_counter() - start)
        LAST_CPU.append(usage.ru_utime + usage.ru_stime)
        peak = max(peak, usage.ru_maxrss / 1024)
        code = os.waitstatus_to_exitcode(status)
        if code not in codes:
            raise SystemExit(f"{cmd[0]} exited {code} in {cwd}")
    return times, peak


def table(title, rows, base):
    print(f"\n### {title}\n")
    print("Peak RSS includes the forking Python process, so no command shows less than it.\n")
    print("| tool | command | median | min | max | peak RSS | vs dill-guard |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    base_median = statistics.median(rows[base][1])
    for name, (command, times, peak) in rows.items():
        med = statistics.median(times)
        ratio = med / base_median
        print(f"| {name} | `{command}` | {med*1000:.1f} ms | {min(times)*1000:.1f} ms | "
              f"{max(times)*1000:.1f} ms | {peak:.0f} MiB | {ratio:.2f}x |")


def setup(quick):
    if not (VENV / "bin" / "ruff").exists() or not (VENV / "bin" / "bandit").exists():
        print("installing ruff and bandit into", VENV, file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", "ruff", "bandit"], check=True)
    print("building dill-guard (release)", file=sys.stderr)
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    WORK.mkdir(parents=True, exist_ok=True)


def big_repository():
    """About 50,000 files, 3,000 of them Python (30 using dill), 5 Python files staged."""
    repo = WORK / "big"
    if (repo / ".git").exists():
        sh(["git", "reset", "-q", "--hard"], cwd=repo)
        sh(["git", "clean", "-q", "-fdx"], cwd=repo)
    else:
        print("generating the 50,000-file repository", file=sys.stderr)
        repo.mkdir(parents=True)
        for i in range(50_000):
            d = repo / f"pkg{i % 50}" / f"sub{(i // 50) % 20}"
            d.mkdir(parents=True, exist_ok=True)
            if i % 1000 == 0:
                (d / f"m{i}.py").write_text(DILL_FILE)
            elif i % 50 < 3:
                (d / f"m{i}.py").write_text(python_file(i))
            else:
                (d / f"data{i}.txt").write_text(f"record {i}\n" * 3)
        sh(["git", "init", "-q", "-b", "main"], cwd=repo)
        sh(["git", "add", "-A"], cwd=repo)
        sh(["git", "commit", "-q", "-m", "base"], cwd=repo)
        sh(["git", "gc", "-q"], cwd=repo)
    staged = []
    for i, path in enumerate(sorted(repo.glob("pkg1/sub*/m*.py"))[:3]):
        path.write_text(path.read_text() + f"\nEXTRA_{i} = {i}\n")
        staged.append(path)
    for i in range(2):
        path = repo / "pkg2" / f"new{i}.py"
        path.write_text(DILL_FILE if i == 0 else python_file(90_000 + i))
        staged.append(path)
    rel = [str(p.relative_to(repo)) for p in staged]
    sh(["git", "add", *rel], cwd=repo)
    return repo, rel


def python_corpus():
    """This machine's standard library and site-packages, as one directory and as a repository."""
    lib = Path(sysconfig.get_paths()["stdlib"])
    repo = WORK / "stdlib-repo"
    if not (repo / ".git").exists():
        print("copying", lib, "into a repository (once)", file=sys.stderr)
        shutil.copytree(lib, repo / "lib", symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.so"))
        sh(["git", "init", "-q", "-b", "main"], cwd=repo)
        sh(["git", "add", "-A"], cwd=repo)
        sh(["git", "commit", "-q", "-m", "corpus"], cwd=repo)
    return lib, repo


def dill_corpus():
    """The dill package's own sources and tests (the sdist from PyPI): every file mentions dill."""
    target = WORK / "dill-src"
    if not target.exists():
        sdist = WORK / "sdist"
        sdist.mkdir(exist_ok=True)
        subprocess.run([str(VENV / "bin" / "pip"), "download", "-q", "--no-deps", "--no-binary",
                        ":all:", "dill", "-d", str(sdist)], check=True)
        archive = next(sdist.glob("dill-*.tar.gz"))
        shutil.unpack_archive(str(archive), str(sdist))
        unpacked = next(p for p in sdist.iterdir() if p.is_dir() and p.name.startswith("dill-"))
        shutil.move(str(unpacked), str(target))
    return target


def packed_clone(repo):
    """A clone of `repo` as a fresh clone has it: every object in one pack."""
    clone = WORK / (repo.name + "-packed")
    if not (clone / ".git").exists():
        sh(["git", "clone", "-q", "--no-local", str(repo), str(clone)])
    return clone


def staged_repository(name, write):
    """A repository under WORK with what `write(repo)` puts there staged (made once, kept)."""
    repo = WORK / name
    if not (repo / ".git").exists():
        repo.mkdir(parents=True, exist_ok=True)
        sh(["git", "init", "-q", "-b", "main"], cwd=repo)
        write(repo)
        sh(["git", "add", "-A"], cwd=repo)
    return repo


def scaling_repository(n):
    """`n` staged files that all use dill."""
    def write(repo):
        for i in range(n):
            d = repo / f"d{i % 100}"
            d.mkdir(exist_ok=True)
            (d / f"f{i}.py").write_text(DILL_FILE + python_file(i))
    return staged_repository(f"scale-{n}", write)


def size_repository(kib):
    """One staged file of about `kib` KiB that uses dill, so all of it is parsed."""
    def write(repo):
        parts, size, i = [DILL_FILE], len(DILL_FILE), 0
        while size < kib * 1024:
            part = python_file(i).replace('"""Module', '"""Part')
            parts.append(part)
            size += len(part)
            i += 1
        (repo / "big.py").write_text("".join(parts))
    return staged_repository(f"size-{kib}", write)


def build_time():
    """Cold `cargo install --path .`: empty target directory and install root, as the
    pre-commit framework builds the hook (crates already downloaded)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "CARGO_TARGET_DIR": os.path.join(tmp, "target")}
        start = time.perf_counter()
        subprocess.run(["cargo", "install", "--quiet", "--locked", "--path", str(ROOT),
                        "--root", os.path.join(tmp, "root")], env=env, check=True)
        return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    runs = 5 if args.quick else 21
    setup(args.quick)
    ruff = str(VENV / "bin" / "ruff")
    bandit = str(VENV / "bin" / "bandit")
    dg = str(DG)

    print(f"Machine: {os.cpu_count()} cores, {os.uname().sysname} {os.uname().machine}; "
          f"git {sh(['git', '--version']).stdout.split()[-1]}, "
          f"{sh([ruff, '--version']).stdout.strip()}, "
          f"bandit {sh([bandit, '--version']).stdout.split()[1]}. Medians of {runs} runs "
          f"unless noted, warm page cache.")

    repo, staged = big_repository()
    rows = {
        "dill-guard": ("dill-guard --staged", *measure([dg, "--staged", "-q"], repo, runs)),
        "git": ("git diff --cached --name-only",
                *measure(["git", "diff", "--cached", "--name-only"], repo, runs)),
        "ruff": ("ruff check --select S301 <5 files>",
                 *measure([ruff, "check", "--no-cache", "--isolated", "--select", "S301", *staged],
                          repo, runs)),
        "bandit": ("bandit <5 files>", *measure([bandit, "-q", *staged], repo, max(3, runs // 4))),
    }
    table("Hook latency: 50,000-file index, 5 staged Python files", rows, "dill-guard")

    small = WORK / "small"
    if not small.exists():
        small.mkdir()
        sh(["git", "init", "-q", "-b", "main"], cwd=small)
        (small / "a.py").write_text(python_file(1))
        sh(["git", "add", "-A"], cwd=small)
        sh(["git", "commit", "-q", "-m", "a"], cwd=small)
    rows = {
        "dill-guard": ("dill-guard --staged", *measure([dg, "--staged", "-q"], small, runs)),
        "git": ("git diff --cached --name-only",
                *measure(["git", "diff", "--cached", "--name-only"], small, runs)),
    }
    table("Startup: small repository, nothing staged", rows, "dill-guard")

    lib, lib_repo = python_corpus()
    full_runs = 3 if args.quick else 7
    lib_packed = packed_clone(lib_repo)
    # Exit 2 is expected here: a few test files declare legacy encodings (koi8-r, iso-8859-5)
    # that dill-guard refuses to vouch for.
    errs = (0, 1, 2)
    rows = {
        "dill-guard": ("dill-guard <dir>",
                       *measure([dg, "-q", str(lib)], WORK, full_runs, codes=errs)),
        "dill-guard --all": ("dill-guard --all (same files, from the index: loose objects)",
                             *measure([dg, "--all", "-q"], lib_repo, full_runs, codes=errs)),
        "dill-guard --all, packed": ("dill-guard --all (a fresh clone: one pack)",
                                     *measure([dg, "--all", "-q"], lib_packed, full_runs,
                                              codes=errs)),
        "find": ("find <dir> -name '*.py' (the walk alone, no reads)",
                 *measure(["find", str(lib), "-name", "*.py"], WORK, full_runs)),
        "ruff": ("ruff check --select S301,S403",
                 *measure([ruff, "check", "--no-cache", "--isolated", "--config", "exclude=[]",
                           "--select", "S301,S403", str(lib)], WORK, full_runs)),
    }
    if not args.quick:
        rows["bandit (1 run)"] = ("bandit -r -t B301,B403",
                                  *measure([bandit, "-q", "-r", "-t", "B301,B403", str(lib)], WORK, 1))
    table(f"Full scan: standard library and site-packages ({lib})", rows, "dill-guard")

    dill_src = dill_corpus()
    rows = {
        "dill-guard": ("dill-guard <dir>", *measure([dg, "-q", str(dill_src)], WORK, runs)),
        "ruff": ("ruff check --select S301,S403 --preview",
                 *measure([ruff, "check", "--no-cache", "--isolated", "--preview",
                           "--select", "S301,S403", str(dill_src)], WORK, runs)),
        "bandit": ("bandit -r -t B301,B403",
                   *measure([bandit, "-q", "-r", "-t", "B301,B403", str(dill_src)], WORK,
                            max(3, runs // 4))),
    }
    table("Worst case: dill's own sources and tests (every file mentions dill)", rows, "dill-guard")

    print("\n### Scaling: staged files that all use dill (each read and parsed)\n")
    print("CPU/wall above 1 means more than one core was busy.\n")
    print("| staged files | dill-guard --staged | per file | CPU/wall |")
    print("| ---: | ---: | ---: | ---: |")
    for n in [1, 10, 100, 1000] + ([] if args.quick else [10_000]):
        repo_n = scaling_repository(n)
        times, _ = measure([dg, "--staged", "-q"], repo_n, 3 if n >= 1000 else runs)
        med = statistics.median(times)
        cpu = statistics.median(LAST_CPU)
        print(f"| {n} | {med*1000:.1f} ms | {med*1000/n:.3f} ms | {cpu/med:.2f} |")

    print("\n### Scaling: one staged file that uses dill, by size (all of it parsed)\n")
    print("| size | dill-guard --staged | throughput |")
    print("| ---: | ---: | ---: |")
    for kib in [10, 100, 1000] + ([] if args.quick else [10_000]):
        repo_k = size_repository(kib)
        times, _ = measure([dg, "--staged", "-q"], repo_k, 3 if kib >= 1000 else runs)
        med = statistics.median(times)
        size = (repo_k / "big.py").stat().st_size
        print(f"| {size/1024:,.0f} KiB | {med*1000:.1f} ms | {size/med/1e6:.1f} MB/s |")

    if not args.quick:
        print("\n### Build: cold `cargo install --path .` (crates already downloaded)\n")
        print(f"{build_time():.0f} s on this machine.")


if __name__ == "__main__":
    main()
