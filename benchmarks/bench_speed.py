"""Speed of kzqa, measured in one run, with the sentence-transformers path as the baseline.

    python benchmarks/bench_speed.py [--runs 5] [--builds 3] [--baseline CHECKOUT]

Prints: cold `kzqa ask` (process start to exit) median/min/max per mode; the same question with
the query encoded through sentence-transformers (KZQA_QUERY_ENCODER=sentence-transformers) and
the ratio; warm per-query p50/p95 through the library; index build time; `kzqa batch` of 150
questions; peak RSS of a cold ask. With `--baseline` (another checkout of kzqa, e.g. `git worktree
add /tmp/kzqa-0.2 v0.2`), also this checkout against that one, in the same run and interleaved run
by run so that a busy machine weighs on both alike: index build, cold hybrid ask, `import qa`, warm
p50, and their ratios. Nothing here is asserted: the figures are for reading.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

QUESTION = "how many prisoners were released"


def kzqa_cmd() -> list[str]:
    exe = shutil.which("kzqa")
    return [exe] if exe else [sys.executable, "-m", "qa.front.cli"]


def timed_run(args: list[str], env: dict, stdin: bytes | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if stdin is not None:
        proc.stdin.write(stdin)
        proc.stdin.close()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    err = proc.stderr.read().decode(errors="replace")
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}): {err.strip()[-300:]}")
    return elapsed, usage.ru_maxrss


def summary(values: list[float]) -> str:
    return f"median {statistics.median(values):.3f}  min {min(values):.3f}  max {max(values):.3f}"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo, hi = int(pos), min(int(pos) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5, help="cold runs per configuration")
    ap.add_argument("--builds", type=int, default=3, help="index builds to time")
    ap.add_argument("--baseline", type=Path, default=None, help="another kzqa checkout to compare with, in the same run")
    args = ap.parse_args()
    if args.baseline is not None:
        compare(args.baseline.resolve(), args.runs)
        return

    from qa.search.pipeline import Index
    from qa.evaluation.evalset import load_eval_set
    from qa.index.open import open_index

    work = Path(tempfile.mkdtemp(prefix="kzqa-bench-"))
    index_dir = work / "index"
    env = {**os.environ, "KZQA_INDEX_DIR": str(index_dir), "NO_COLOR": "1"}
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")

    # index build: each in a fresh process into an empty folder (model load, embedding, ONNX export)
    build_times = []
    for i in range(max(1, args.builds)):
        fresh = {**env, "KZQA_INDEX_DIR": str(work / f"build-{i}")}
        t, _ = timed_run(kzqa_cmd() + ["index"], fresh)
        build_times.append(t)
        shutil.rmtree(work / f"build-{i}", ignore_errors=True)
    print(f"\nindex build from nothing (kzqa index, {len(build_times)} runs): {summary(build_times)} s")
    timed_run(kzqa_cmd() + ["index"], env)
    rebuild_times = [timed_run(kzqa_cmd() + ["index", "--rebuild"], env)[0] for _ in range(max(1, args.builds))]
    print(f"rebuild of an existing index (kzqa index --rebuild; unchanged text is not re-embedded): {summary(rebuild_times)} s")

    # cold asks, every mode, then the sentence-transformers reference path
    print(f"\ncold `kzqa ask \"{QUESTION}\"`, {args.runs} runs each, seconds:")
    cold: dict[str, list[float]] = {}
    rss: dict[str, int] = {}
    for mode in ("bm25", "dense", "hybrid", "rerank"):
        times = []
        for _ in range(args.runs):
            t, peak = timed_run(kzqa_cmd() + ["ask", QUESTION, "--mode", mode], env)
            times.append(t)
            rss[mode] = max(rss.get(mode, 0), peak)
        cold[mode] = times
        print(f"  {mode:<8} {summary(times)}   peak RSS {rss[mode] / 1024:.0f} MiB")
    ref_env = {**env, "KZQA_QUERY_ENCODER": "sentence-transformers"}
    ref = []
    for _ in range(args.runs):
        t, peak = timed_run(kzqa_cmd() + ["ask", QUESTION, "--mode", "hybrid"], ref_env)
        ref.append(t)
        rss["reference"] = max(rss.get("reference", 0), peak)
    print(f"  {'hybrid via sentence-transformers':<8} {summary(ref)}   peak RSS {rss['reference'] / 1024:.0f} MiB")
    ratio = statistics.median(cold["hybrid"]) / statistics.median(ref)
    print(f"  ratio hybrid / sentence-transformers path: {ratio:.3f}")

    # warm queries through the library
    items = load_eval_set()
    questions = [it.question for it in items]
    index = Index(open_index(index_dir, auto_build=False, notify=None))
    index.ask(QUESTION)  # load the encoder
    print(f"\nwarm queries through the library ({len(questions)} eval questions, index loaded once), ms:")
    warm = {}
    for mode in ("bm25", "dense", "hybrid", "rerank"):
        per_run_p50, per_run_p95 = [], []
        for _ in range(3):
            lat = []
            for q in questions:
                t0 = time.perf_counter()
                index.ask(q, mode=mode)
                lat.append((time.perf_counter() - t0) * 1000)
            per_run_p50.append(percentile(lat, 0.5))
            per_run_p95.append(percentile(lat, 0.95))
        warm[mode] = (statistics.median(per_run_p50), statistics.median(per_run_p95))
        print(f"  {mode:<8} p50 {warm[mode][0]:.2f}  p95 {warm[mode][1]:.2f}   (median of 3 runs)")

    # batch throughput
    batch_file = work / "batch.txt"
    batch_file.write_text("\n".join(questions[:150]) + "\n", encoding="utf-8")
    batch_times = []
    for _ in range(3):
        t, _ = timed_run(kzqa_cmd() + ["batch", str(batch_file), "-o", str(work / "out.jsonl")], env)
        batch_times.append(t)
    n = len(questions[:150])
    print(f"\n`kzqa batch` of {n} questions (start-up included), 3 runs: {summary(batch_times)} s"
          f"  → {n / statistics.median(batch_times):.0f} questions/s")

    result = {
        "build_s": statistics.median(build_times),
        "rebuild_s": statistics.median(rebuild_times),
        "cold_s": {m: statistics.median(v) for m, v in cold.items()},
        "cold_reference_s": statistics.median(ref),
        "ratio": ratio,
        "warm_ms": warm,
        "batch_s": statistics.median(batch_times),
        "peak_rss_mib": {k: v / 1024 for k, v in rss.items()},
    }
    (work / "speed.json").write_text(json.dumps(result, indent=1))
    print(f"\nraw figures: {work / 'speed.json'}")
    shutil.rmtree(index_dir, ignore_errors=True)


WARM_PROBE = """
import sys, time, statistics
from qa.evaluation.evalset import load_eval_set
from qa.index.open import open_index
from qa.search.pipeline import Index
index = Index(open_index(None, auto_build=False, notify=None))
questions = [it.question for it in load_eval_set()]
index.ask(questions[0])
runs = []
for _ in range(3):
    lat = []
    for q in questions:
        t0 = time.perf_counter(); index.ask(q); lat.append((time.perf_counter() - t0) * 1000)
    runs.append(statistics.median(lat))
print(statistics.median(runs))
"""


def compare(baseline: Path, runs: int) -> None:
    """This checkout against `baseline`, each with its own index folder, interleaved."""
    work = Path(tempfile.mkdtemp(prefix="kzqa-compare-"))
    sides = {"this": REPO, "baseline": baseline}
    envs = {name: {**os.environ, "PYTHONPATH": str(root), "KZQA_INDEX_DIR": str(work / name), "NO_COLOR": "1"} for name, root in sides.items()}
    cmd = [sys.executable, "-m", "qa"]
    for name in sides:  # the index each side answers from (and its encoder export)
        timed_run(cmd + ["index"], envs[name])
    figures: dict[str, dict[str, list[float]]] = {name: {"build": [], "cold": [], "import": [], "warm": []} for name in sides}
    for i in range(runs):
        for name, root in sides.items():
            fresh = {**envs[name], "KZQA_INDEX_DIR": str(work / f"{name}-build-{i}")}
            if i < 2:
                figures[name]["build"].append(timed_run(cmd + ["index"], fresh)[0])
                shutil.rmtree(work / f"{name}-build-{i}", ignore_errors=True)
            figures[name]["cold"].append(timed_run(cmd + ["ask", QUESTION], envs[name])[0])
            figures[name]["import"].append(timed_run([sys.executable, "-c", "import qa"], envs[name])[0])
    for name in sides:
        out = subprocess.run([sys.executable, "-c", WARM_PROBE], env=envs[name], capture_output=True, text=True, check=True)
        figures[name]["warm"].append(float(out.stdout.strip().splitlines()[-1]))
    print(f"this checkout against {baseline}, interleaved, medians:")
    for key, label, unit in (("build", "index build from nothing", "s"), ("cold", "cold `kzqa ask` (hybrid)", "s"),
                             ("import", "`python -c 'import qa'`", "s"), ("warm", "warm ask p50 (library, eval questions)", "ms")):
        a, b = statistics.median(figures["this"][key]), statistics.median(figures["baseline"][key])
        print(f"  {label:<42} this {a:8.3f} {unit}   baseline {b:8.3f} {unit}   ratio {a / b:.3f}   difference {a - b:+.3f} {unit}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
