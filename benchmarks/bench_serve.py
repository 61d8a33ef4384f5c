"""How fast ``analyzer serve`` answers, next to batch scoring of the same texts in the same run.

Starts a real server on loopback (the default models, no store), sends real comments from
``../shared/data/threads`` as Perspective ``comments:analyze`` requests from a bounded async
load generator (a fixed number of requests per level, a time limit), at concurrency 1, 8
and 32, and prints requests/s, latency percentiles and the ratio to the batch throughput
of ``analyzer score``'s scorer on the same texts.

    python benchmarks/bench_serve.py [--requests 400] [--markdown]

Targets on a 2-core machine: at concurrency 32, at least 70% of batch throughput; at
concurrency 1, p50 under 40 ms for a tweet-length comment.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
THREADS = REPO.parent / "shared" / "data" / "threads"
LEVELS = (1, 8, 32)


def sample_texts(n: int, max_chars: int = 280) -> list[str]:
    """Real comments, tweet-length, from the shared sample threads."""
    from analyzer.parsers import parse_path

    texts: list[str] = []
    for folder in ("hackernews", "reddit", "youtube", "disqus"):
        for path in sorted((THREADS / folder).glob("*.json")):
            try:
                threads = parse_path(path)
            except Exception:
                continue
            texts += [c.text for t in threads for c in t.comments if 20 <= len(c.text) <= max_chars]
    if not texts:
        raise SystemExit(f"no sample comments under {THREADS}")
    return [texts[i % len(texts)] for i in range(n)]


def batch_rate(texts: list[str]) -> float:
    """Comments per second of the scorer ``analyzer score`` uses, default models."""
    from analyzer.pipeline import load_models
    from analyzer.scoring.scorer import Scorer

    scorer = Scorer(load_models())
    scorer.score_texts(texts[:64])  # warm up
    start = time.perf_counter()
    scorer.score_texts(texts)
    return len(texts) / (time.perf_counter() - start)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int) -> subprocess.Popen:
    import httpx

    proc = subprocess.Popen(
        [sys.executable, "-m", "analyzer.cli", "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "TOKENIZERS_PARALLELISM": "false"},
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
        if proc.poll() is not None:
            break
    proc.kill()
    raise SystemExit(
        f"the server did not start: {proc.stderr.read().decode(errors='replace')[-2000:] if proc.stderr else ''}"
    )


async def load(url: str, texts: list[str], concurrency: int, limit_s: float) -> tuple[float, list[float], int]:
    """(wall seconds, latencies in seconds, errors) for ``len(texts)`` requests."""
    import httpx

    latencies: list[float] = []
    errors = 0
    todo = iter(texts)
    deadline = time.perf_counter() + limit_s
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        for text in todo:
            if time.perf_counter() > deadline:
                return
            body = {"comment": {"text": text}, "requestedAttributes": {"TOXICITY": {}, "INSULT": {}, "NEGATIVE": {}}}
            t0 = time.perf_counter()
            r = await client.post("/v1alpha1/comments:analyze", json=body)
            latencies.append(time.perf_counter() - t0)
            errors += r.status_code != 200

    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        for text in texts[: concurrency * 2]:  # warm the connections and the model
            await client.post(
                "/v1alpha1/comments:analyze", json={"comment": {"text": text}, "requestedAttributes": {"TOXICITY": {}}}
            )
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return time.perf_counter() - start, latencies, errors


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=400, help="requests per concurrency level (default 400)")
    ap.add_argument("--time-limit", type=float, default=120.0, help="seconds per level at most")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown (for docs/serving.md)")
    a = ap.parse_args()

    texts = sample_texts(max(a.requests, 512))
    rate = batch_rate(texts[:512])
    port = free_port()
    proc = start_server(port)
    rows = []
    try:
        for c in LEVELS:
            n = a.requests if c > 1 else max(50, a.requests // 4)
            wall, lat, errors = asyncio.run(load(f"http://127.0.0.1:{port}", texts[:n], c, a.time_limit))
            rps = len(lat) / wall
            rows.append(
                (c, len(lat), errors, rps, pct(lat, 50) * 1000, pct(lat, 95) * 1000, pct(lat, 99) * 1000, rps / rate)
            )
    finally:
        proc.terminate()
        proc.wait(30)
    head = ("concurrency", "requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms", "vs batch")
    lines = [f"batch scoring (analyzer score's scorer, same texts, same run): {rate:.1f} comments/s", ""]
    if a.markdown:
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += [
            f"| {c} | {n} | {e} | {r:.1f} | {p50:.1f} | {p95:.1f} | {p99:.1f} | {x:.0%} |"
            for c, n, e, r, p50, p95, p99, x in rows
        ]
    else:
        lines.append("".join(f"{h:>13}" for h in head))
        lines += [
            f"{c:>13}{n:>13}{e:>13}{r:>13.1f}{p50:>13.1f}{p95:>13.1f}{p99:>13.1f}{x:>13.0%}"
            for c, n, e, r, p50, p95, p99, x in rows
        ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
