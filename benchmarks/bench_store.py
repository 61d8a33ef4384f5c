"""Benchmark the store: ingest 1,000,000 scored comments, then list the threads.

Generates synthetic threads (heavy-tailed sizes, random reply trees, six synthetic scores per
comment: three toxicity labels and three sentiment classes), imports them in ``--batches``
transactions (as that many ingested files), and prints the time, the store's size, and how
fast the ranked thread list answers over the result (target: under 1 s). Also times a
repeated import (which must add nothing) and a full report of the largest thread.

    python benchmarks/bench_store.py [--comments 1000000] [--batches 10] [--db PATH|URL] [--keep]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

TARGET_LIST_SECONDS = 1.0
LABELS = ("toxicity", "insult", "identity_attack")
SENTIMENT = ("negative", "neutral", "positive")
_WORDS = [
    "the",
    "a",
    "and",
    "of",
    "to",
    "in",
    "is",
    "you",
    "that",
    "it",
    "he",
    "was",
    "for",
    "on",
    "are",
    "as",
    "with",
    "his",
    "they",
    "I",
    "at",
    "be",
    "this",
    "have",
    "from",
    "or",
    "one",
    "had",
    "by",
    "word",
    "but",
    "not",
    "what",
    "all",
    "were",
    "we",
    "when",
    "your",
    "can",
    "said",
    "there",
    "use",
    "an",
    "each",
    "which",
    "she",
    "do",
    "how",
    "their",
    "if",
    "will",
    "up",
    "other",
    "about",
    "out",
    "many",
    "then",
    "them",
    "these",
    "so",
    "some",
    "her",
    "would",
    "make",
    "like",
    "him",
    "into",
    "time",
    "has",
    "look",
    "two",
    "more",
    "write",
    "go",
    "see",
    "number",
    "no",
    "way",
    "could",
    "people",
    "my",
    "than",
    "first",
    "been",
    "call",
    "who",
    "now",
    "find",
    "long",
    "down",
    "day",
    "did",
    "get",
    "come",
    "made",
    "may",
    "part",
    "thread",
    "reply",
    "comment",
    "agree",
    "wrong",
    "idiot",
    "great",
    "post",
    "source",
    "link",
    "thanks",
    "lol",
]


def thread_sizes(total: int, rng: random.Random) -> list[int]:
    """Heavy-tailed sizes summing to ``total``: most threads small, a few of thousands."""
    sizes: list[int] = []
    left = total
    while left > 0:
        n = min(left, max(3, min(20_000, int(20 * rng.paretovariate(1.1)))))
        sizes.append(n)
        left -= n
    return sizes


def make_threads(sizes: list[int], rng: random.Random, first: int) -> tuple[list[Any], list[dict[str, Any]]]:
    """Threads with random reply trees and their scored records (as the Scorer yields them)."""
    from analyzer.thread import Comment, Thread

    tox_version = "bench-toxicity@0123456789abcdef"
    sent_version = "bench-sentiment@fedcba9876543210"
    models = {**{label: tox_version for label in LABELS}, **{label: sent_version for label in SENTIMENT}}
    threads, records = [], []
    start = datetime(2023, 1, 1, tzinfo=timezone.utc)
    for k, size in enumerate(sizes):
        heat = rng.random() ** 3  # a few threads are much more toxic than the rest
        t0 = start + timedelta(days=rng.randrange(365))
        comments = []
        for i in range(size):
            parent = None if i == 0 or rng.random() < 0.25 else f"c{rng.randrange(max(0, i - 50), i)}"
            text = " ".join(rng.choice(_WORDS) for _ in range(rng.randrange(5, 40)))
            comments.append(
                Comment(
                    f"c{i}",
                    text,
                    parent_id=parent,
                    author=f"user{rng.randrange(5000)}",
                    created_at=t0 + timedelta(minutes=i * rng.random() * 10),
                )
            )
        thread = Thread.build(f"bench-{first + k}", comments, format="jsonl")
        threads.append(thread)
        for record in thread.records():
            tox = min(1.0, rng.betavariate(1, 8) + (heat * 0.8 if rng.random() < heat else 0.0))
            neg = rng.random()
            pos = rng.random() * (1 - neg)
            scores = {
                "toxicity": tox,
                "insult": tox * rng.random(),
                "identity_attack": tox * rng.random() * 0.5,
                "negative": neg,
                "positive": pos,
                "neutral": 1 - neg - pos,
            }
            records.append({**record, "scores": scores, "models": models, "windowed": False})
    return threads, records


def model_infos() -> list[Any]:
    from analyzer.store import ModelInfo

    return [
        ModelInfo("bench-toxicity", "0123456789abcdef", "toxicity", LABELS, {label: 0.5 for label in LABELS}),
        ModelInfo("bench-sentiment", "fedcba9876543210", "sentiment", SENTIMENT, {label: 0.5 for label in SENTIMENT}),
    ]


def store_size(store: Any) -> int:
    """Bytes on disk: the SQLite file and its WAL/SHM, or the PostgreSQL schema's relations."""
    if store.dialect == "sqlite":
        path = Path(store.engine.url.database)
        return sum(p.stat().st_size for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists())
    from sqlalchemy import text

    with store.engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'"
                )
            ).scalar()
        )


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """Median wall time of ``repeat`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=1_000_000)
    parser.add_argument("--batches", type=int, default=10, help="import transactions (as ingested files)")
    parser.add_argument("--db", default=None, help="SQLite path or PostgreSQL URL (default: a temporary file)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keep", action="store_true", help="keep the temporary store")
    args = parser.parse_args(argv)

    from analyzer import analytics
    from analyzer.store import Store

    tmp = Path(tempfile.mkdtemp(prefix="bench-store-"))
    db = args.db or str(tmp / "bench.db")
    rng = random.Random(args.seed)
    sizes = thread_sizes(args.comments, rng)
    per_batch = -(-len(sizes) // args.batches)
    rows: list[tuple[str, str]] = []
    try:
        store = Store.open(db)
        gen_s = import_s = import_cpu = 0.0
        total_scores = 0
        first_batch: tuple[Any, Any] | None = None
        print(
            f"{len(sizes):,} threads, {args.comments:,} comments in {args.batches} imports -> {store.url}",
            file=sys.stderr,
        )
        for b in range(0, len(sizes), per_batch):
            start = time.perf_counter()
            threads, records = make_threads(sizes[b : b + per_batch], rng, b)
            gen_s += time.perf_counter() - start
            start, cpu = time.perf_counter(), time.process_time()
            summary = store.import_threads(
                threads, records, source=f"bench-{b}.jsonl", format="jsonl", models=model_infos()
            )
            import_s += time.perf_counter() - start
            import_cpu += time.process_time() - cpu
            total_scores += summary.scores_added
            if first_batch is None:
                first_batch = (threads, records)
            print(
                f"  import {b // per_batch + 1}: {summary.comments_added:,} comments, {summary.scores_added:,} scores, "
                f"{time.perf_counter() - start:.1f} s",
                file=sys.stderr,
            )
        n_comments = sum(sizes) + 0
        rows += [
            ("store", store.url if store.dialect != "sqlite" else f"SQLite file ({store.dialect}, WAL)"),
            ("threads / comments / scores", f"{len(sizes):,} / {n_comments:,} / {total_scores:,}"),
            ("largest thread", f"{max(sizes):,} comments"),
            ("synthetic data generation (not counted)", f"{gen_s:.1f} s"),
            (
                "ingest (import transactions, stats included)",
                f"{import_s:.1f} s  ({n_comments / import_s:,.0f} comments/s)",
            ),
            (
                "  of which this process's CPU time",
                f"{import_cpu:.1f} s  ({n_comments / import_cpu:,.0f} comments/CPU-s)",
            ),
            ("store size", f"{store_size(store) / 1024**2:,.0f} MiB"),
        ]
        assert first_batch is not None
        again_s, again = timed(
            lambda: store.import_threads(
                first_batch[0], first_batch[1], source="bench-0.jsonl", format="jsonl", models=model_infos()
            )
        )
        rows.append(
            (
                f"re-import of batch 1 ({sum(len(t) for t in first_batch[0]):,} comments; adds nothing)",
                f"{again_s:.1f} s, added {again.comments_added + again.scores_added}",
            )
        )
        store.close()

        # The threads list, as `analyzer threads` and the dashboard ask for it: a fresh process's
        # first query (cold), then repeated (warm).
        with Store.open(db, create=False) as fresh:
            cold, page = timed(lambda: fresh.list_threads(limit=50))
            warm, _ = timed(lambda: fresh.list_threads(limit=50), repeat=5)
            count_s, n = timed(lambda: fresh.count_threads(), repeat=5)
            search_s, _ = timed(lambda: fresh.list_threads(search="bench-99", limit=50), repeat=5)
            risky_s, _ = timed(lambda: fresh.list_threads(min_risk=0.3, limit=50), repeat=5)
            all_s, everything = timed(lambda: fresh.list_threads(limit=None), repeat=3)
            largest = max(everything, key=lambda r: r["comments"])["thread_id"]
            load_s, loaded = timed(lambda: fresh.load_thread(largest))
            report_s, _ = timed(lambda: analytics.report(loaded))
        before = os.times()
        start = time.perf_counter()
        cli = subprocess.run([sys.executable, "-m", "analyzer", "threads", "--db", db], capture_output=True, text=True)
        cli_s = time.perf_counter() - start
        after = os.times()
        cli_cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
        if cli.returncode != 0:
            raise SystemExit(cli.stderr)
        ok = "OK" if max(cold, warm) < TARGET_LIST_SECONDS else "MISSED"
        rows += [
            (
                f"threads list, top 50 by risk: cold / warm (target < {TARGET_LIST_SECONDS:.0f} s)",
                f"{cold * 1000:.1f} ms / {warm * 1000:.1f} ms  {ok}",
            ),
            (f"count of threads ({n:,})", f"{count_s * 1000:.1f} ms"),
            ("threads list, search by id/title", f"{search_s * 1000:.1f} ms"),
            ("threads list, risk >= 0.3", f"{risky_s * 1000:.1f} ms"),
            (f"threads list, all {len(everything):,}", f"{all_s * 1000:.0f} ms"),
            ("`analyzer threads` CLI (whole process): wall / CPU", f"{cli_s:.2f} s / {cli_cpu:.2f} s"),
            (
                f"load largest thread ({len(loaded.thread):,} comments) / full report",
                f"{load_s:.2f} s / {report_s:.2f} s",
            ),
            ("top thread", f"{page[0]['thread_id']} risk {page[0]['risk']:.3f}, {page[0]['comments']:,} comments"),
        ]
    finally:
        if args.keep or args.db:
            print(f"store kept: {db}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    width = max(len(k) for k, _ in rows)
    print(f"{'measure'.ljust(width)}  result")
    print(f"{'-' * width}  {'-' * 40}")
    for key, value in rows:
        print(f"{key.ljust(width)}  {value}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"\n(host: {os.cpu_count()} CPU(s), load average {load:.1f} at the end, Python {sys.version.split()[0]};"
        " wall times grow with other work on the machine, CPU times much less)"
    )


if __name__ == "__main__":
    main()
