"""Load on `kzqa serve`: many concurrent `GET /api/ask` on loopback, latency and throughput.

    python benchmarks/bench_serve.py [--requests 200] [--concurrency 200] [--rounds 3] [--url URL]

Without --url it starts `kzqa serve --port 0` on 127.0.0.1 (the index from KZQA_INDEX_DIR or the
usual place; built first if missing), waits until it is ready, and stops it at the end. Each round
sends --requests asks (cycling over QUESTIONS), at most --concurrency in flight, and prints p50
and p95 latency (from sending a request to its whole response) and requests per second (requests
over the round's wall time). Every response must be 200 with the answer a single ask gives; any
error or difference is counted and printed. When it started the server itself, it then times the
library alone (one thread, same questions) for comparison: on this 2-core machine the load client
and the server share the cores, and answering, not HTTP, is what bounds the rate. Bounded: a fixed number of requests, each with a
timeout, to a loopback address only (any other --url is refused).
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

QUESTIONS = (
    "how many prisoners were released",
    "who won the presidential election",
    "was the internet censored",
    "how many journalists were killed",
    "what happened in Zhanaozen",
    "are there political prisoners",
    "how many hazing cases went to court",
    "can workers strike",
    "what is the minimum age for marriage",
    "how tall is mount everest",
)
TIMEOUT_S = 120.0


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of the values."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def check_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    try:
        ok = ipaddress.ip_address(host).is_loopback
    except ValueError:
        ok = host == "localhost"
    if not ok:
        raise SystemExit(f"bench_serve: refusing {url}: load goes to loopback addresses only")


async def run_load(url: str, total: int = 200, concurrency: int = 200, questions=QUESTIONS, k: int = 3) -> dict:
    """Send `total` asks, `concurrency` at a time; return latencies (s), wall time, statuses,
    the answers by question, and the error count."""
    import httpx

    check_loopback(url)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    semaphore = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    answers: dict[str, list[dict]] = {}
    errors: list[str] = []

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=TIMEOUT_S) as client:
        async def one(i: int) -> None:
            q = questions[i % len(questions)]
            async with semaphore:
                t0 = time.perf_counter()
                try:
                    r = await client.get("/api/ask", params={"q": q, "k": k})
                    body = r.json() if r.status_code == 200 else None
                except (httpx.HTTPError, ValueError) as exc:
                    errors.append(f"{q}: {exc.__class__.__name__}: {exc}")
                    return
                latencies.append(time.perf_counter() - t0)
            if body is None:
                errors.append(f"{q}: HTTP {r.status_code}: {r.text[:200]}")
            else:
                answers.setdefault(q, []).append(body)

        t0 = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(total)))
        wall = time.perf_counter() - t0
    return {"latencies": latencies, "wall": wall, "answers": answers, "errors": errors, "total": total}


def summary(result: dict) -> dict:
    lat = result["latencies"]
    return {
        "p50_ms": 1000 * percentile(lat, 50) if lat else float("nan"),
        "p95_ms": 1000 * percentile(lat, 95) if lat else float("nan"),
        "rps": result["total"] / result["wall"],
        "errors": len(result["errors"]),
    }


def library_rate(total: int) -> float:
    """Asks per second of qa.Index.ask (to JSON) on one thread, for comparison with the server."""
    from qa.facade import load_index

    index = load_index()
    for q in QUESTIONS:
        index.ask(q).to_dict()
    t0 = time.perf_counter()
    for i in range(total):
        index.ask(QUESTIONS[i % len(QUESTIONS)]).to_dict()
    return total / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--url", default=None, help="a running kzqa serve (loopback only)")
    args = parser.parse_args()
    if not 1 <= args.requests <= 10_000 or not 1 <= args.concurrency <= 1_000 or not 1 <= args.rounds <= 20:
        raise SystemExit("bench_serve: keep --requests ≤ 10000, --concurrency ≤ 1000, --rounds ≤ 20")

    served = None
    url = args.url
    if url is None:
        sys.path.insert(0, str(REPO / "devtools"))
        from served import Served
        from qa.index.naming import default_index_root

        served = Served(os.environ.get("KZQA_INDEX_DIR") or default_index_root(), timeout=600)
        url = served.url
    check_loopback(url)
    try:
        import httpx

        expected = {q: httpx.get(url + "api/ask", params={"q": q, "k": 3}, timeout=TIMEOUT_S).json() for q in QUESTIONS}
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
        print(f"server: {url}  ({args.requests} asks a round, at most {args.concurrency} at once, k = 3, mode hybrid)\n")
        rounds = []
        for n in range(1, args.rounds + 1):
            result = asyncio.run(run_load(url, args.requests, args.concurrency))
            differ = sum(a != expected[q] for q, got in result["answers"].items() for a in got)
            s = summary(result)
            rounds.append(s)
            print(f"round {n}: p50 {s['p50_ms']:.0f} ms  p95 {s['p95_ms']:.0f} ms  {s['rps']:.0f} requests/s  "
                  f"errors {s['errors']}  answers differing from a single ask {differ}")
            for e in result["errors"][:5]:
                print("   ", e)
        print(f"\nmedian of {len(rounds)} rounds: p50 {statistics.median(r['p50_ms'] for r in rounds):.0f} ms  "
              f"p95 {statistics.median(r['p95_ms'] for r in rounds):.0f} ms  "
              f"{statistics.median(r['rps'] for r in rounds):.0f} requests/s")
        if served is not None:
            print(f"the library alone, in this process, one question after another: {library_rate(args.requests):.0f} asks/s")
    finally:
        if served is not None:
            served.stop()


if __name__ == "__main__":
    main()
