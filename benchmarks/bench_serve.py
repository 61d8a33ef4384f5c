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
import shlex
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


def start_server(port: int, extra: list[str] | None = None) -> subprocess.Popen:
    import httpx

    proc = subprocess.Popen(
        [sys.executable, "-m", "analyzer.cli", "serve", "--port", str(port), *(extra or [])],
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


def analyze_body(text: str) -> bytes:
    import json

    body = {"comment": {"text": text}, "requestedAttributes": {"TOXICITY": {}, "INSULT": {}, "NEGATIVE": {}}}
    return json.dumps(body).encode()


async def load(url: str, texts: list[str], concurrency: int, limit_s: float) -> tuple[float, list[float], int]:
    """(wall seconds, latencies in seconds, errors) for ``len(texts)`` requests, from httpx."""
    import httpx

    latencies: list[float] = []
    errors = 0
    todo = iter(texts)
    deadline = time.perf_counter() + limit_s
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"content-type": "application/json"}

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        for text in todo:
            if time.perf_counter() > deadline:
                return
            t0 = time.perf_counter()
            r = await client.post("/v1alpha1/comments:analyze", content=analyze_body(text), headers=headers)
            latencies.append(time.perf_counter() - t0)
            errors += r.status_code != 200

    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        for text in texts[: concurrency * 2]:  # warm the connections and the model
            await client.post("/v1alpha1/comments:analyze", content=analyze_body(text), headers=headers)
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return time.perf_counter() - start, latencies, errors


async def load_raw(url: str, texts: list[str], concurrency: int, limit_s: float) -> tuple[float, list[float], int]:
    """As ``load``, from plain keep-alive HTTP/1.1 connections (one per client): a tenth of
    httpx's CPU per request (measured: 3.7 ms), which here shares the server's two cores.
    Reads each response whole by its Content-Length; a response without one is an error."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    latencies: list[float] = []
    errors = 0
    todo = iter(texts)
    deadline = time.perf_counter() + limit_s

    def request(text: str) -> bytes:
        body = analyze_body(text)
        head = (
            f"POST /v1alpha1/comments:analyze HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    async def send(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, text: str) -> int:
        writer.write(request(text))
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = None
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is None:
            raise RuntimeError("a response without Content-Length")
        await reader.readexactly(length)
        return status

    async def worker(first: list[str]) -> None:
        nonlocal errors, waiting
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for text in first:  # warm the connection and the model
                await send(reader, writer, text)
            waiting -= 1
            if waiting == 0:
                warmed.set()
            await ready.wait()
            for text in todo:
                if time.perf_counter() > deadline:
                    return
                t0 = time.perf_counter()
                status = await send(reader, writer, text)
                latencies.append(time.perf_counter() - t0)
                errors += status != 200
        finally:
            writer.close()

    ready, warmed = asyncio.Event(), asyncio.Event()
    waiting = concurrency
    warm = texts[: concurrency * 2]
    tasks = [asyncio.create_task(worker(warm[i::concurrency])) for i in range(concurrency)]
    await asyncio.wait([asyncio.create_task(warmed.wait()), *tasks], return_when=asyncio.FIRST_COMPLETED)
    start = time.perf_counter()
    ready.set()
    await asyncio.gather(*tasks)
    return time.perf_counter() - start, latencies, errors


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=400, help="requests per concurrency level (default 400)")
    ap.add_argument("--time-limit", type=float, default=120.0, help="seconds per level at most")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown (for docs/serving.md)")
    ap.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="load generator: plain keep-alive HTTP/1.1 (default, light) or httpx (3.7 ms of CPU a request)",
    )
    ap.add_argument("--serve-args", default="", help='more `analyzer serve` options, e.g. "--max-batch 32"')
    a = ap.parse_args()

    import httpx

    texts = sample_texts(max(a.requests, 512))
    before = batch_rate(texts[:512])
    port = free_port()
    proc = start_server(port, shlex.split(a.serve_args))
    rows = []
    seen = (0, 0)  # the server's texts and batches so far
    try:
        for c in LEVELS:
            n = a.requests if c > 1 else max(50, a.requests // 4)
            generate = load_raw if a.client == "raw" else load
            wall, lat, errors = asyncio.run(generate(f"http://127.0.0.1:{port}", texts[:n], c, a.time_limit))
            rps = len(lat) / wall
            health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).json()
            per_batch = (health["texts"] - seen[0]) / max(1, health["batches"] - seen[1])  # warm-up included
            seen = (health["texts"], health["batches"])
            rows.append(
                (c, len(lat), errors, rps, pct(lat, 50) * 1000, pct(lat, 95) * 1000, pct(lat, 99) * 1000, per_batch)
            )
    finally:
        proc.terminate()
        proc.wait(30)
    # the machine's speed drifts between minutes here: batch scoring is measured before and
    # after the server, and the service compared with the faster of the two
    after = batch_rate(texts[:512])
    rate = max(before, after)
    head = ("concurrency", "requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms", "texts/batch", "vs batch")
    lines = [
        f"batch scoring (analyzer score's scorer, same texts, same run): {before:.1f} comments/s before the server, "
        f"{after:.1f} after; ratios to the faster; load generator: {a.client}",
        "",
    ]
    if a.markdown:
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += [
            f"| {c} | {n} | {e} | {r:.1f} | {p50:.1f} | {p95:.1f} | {p99:.1f} | {b:.1f} | {r / rate:.0%} |"
            for c, n, e, r, p50, p95, p99, b in rows
        ]
    else:
        lines.append("".join(f"{h:>13}" for h in head))
        lines += [
            f"{c:>13}{n:>13}{e:>13}{r:>13.1f}{p50:>13.1f}{p95:>13.1f}{p99:>13.1f}{b:>13.1f}{r / rate:>13.0%}"
            for c, n, e, r, p50, p95, p99, b in rows
        ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
