"""Benchmark ``analyzer parse`` on generated JSON Lines (default: 1,000,000 comments).

Generates random reply trees in a temporary folder, runs ``python -m analyzer parse`` on them
as a separate process (so its peak memory is its own), and prints wall time and peak
resident memory against the targets of issue 2 (under 30 s and 2 GB).

    python benchmarks/bench_parse.py [--comments 1000000] [--threads 1000] [--files 10] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

TARGET_SECONDS = 30.0
TARGET_BYTES = 2 * 1024**3

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
    "water",
    "been",
    "call",
    "who",
    "oil",
    "its",
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


def generate(folder: Path, n_comments: int, n_threads: int, n_files: int, seed: int = 7) -> None:
    """Random trees: each comment replies to one of the 50 before it in its thread, or
    (one in four) is top-level; threads spread over ``n_files`` files, as exports come in
    parts (one file of a million comments would pass the 200 MB default file limit)."""
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    per_thread = max(1, n_comments // n_threads)
    threads_per_file = max(1, -(-n_threads // n_files))
    written = 0
    t = 0
    f = None
    try:
        while written < n_comments:
            if t % threads_per_file == 0:
                if f is not None:
                    f.close()
                f = (folder / f"comments_{t // threads_per_file:03d}.jsonl").open("w", encoding="utf-8")
            t += 1
            count = min(per_thread, n_comments - written)
            for i in range(count):
                parent = None if i == 0 or rng.random() < 0.25 else f"t{t}c{rng.randrange(max(0, i - 50), i)}"
                row = {
                    "id": f"t{t}c{i}",
                    "conversation_id": f"t{t}",
                    "parent_id": parent,
                    "author": f"user{rng.randrange(50_000)}",
                    "created_at": (start + timedelta(seconds=t * 3600 + i * 7)).isoformat(),
                    "text": " ".join(rng.choices(_WORDS, k=rng.randrange(5, 40))),
                }
                f.write(json.dumps(row) + "\n")
            written += count
    finally:
        if f is not None:
            f.close()


def run(path: Path, out: Path) -> tuple[float, float, int, int]:
    """(wall seconds, CPU seconds, peak RSS bytes, exit status) of ``analyzer parse`` on
    ``path``. CPU time shows the cost when other work shares the machine."""
    with out.open("wb") as sink, open(os.devnull, "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "analyzer", "parse", str(path)], stdout=sink, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, proc.returncode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--comments", type=int, default=1_000_000)
    ap.add_argument("--threads", type=int, default=1_000)
    ap.add_argument("--files", type=int, default=10)
    ap.add_argument("--keep", action="store_true", help="keep the generated folder")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench_parse_"))
    try:
        data = tmp / "input"
        data.mkdir()
        t0 = time.perf_counter()
        generate(data, args.comments, args.threads, args.files)
        gen = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in data.iterdir())
        files = len(list(data.iterdir()))
        wall, cpu, peak, code = run(data, tmp / "records.jsonl")
        with (tmp / "records.jsonl").open("rb") as f:
            records = sum(1 for _ in f)
        ok = code == 0 and records == args.comments
        rows = [
            ("comments", f"{args.comments:,}"),
            ("threads", f"{args.threads:,}"),
            ("input", f"{files} JSON Lines files, {size / 1e6:,.0f} MB (generated in {gen:.1f} s)"),
            ("records written", f"{records:,}" + ("" if ok else f"  (exit {code}: FAILED)")),
            (
                "wall time",
                f"{wall:.1f} s  (target < {TARGET_SECONDS:.0f} s: {'ok' if wall < TARGET_SECONDS else 'MISSED'})",
            ),
            ("CPU time", f"{cpu:.1f} s  (user + system)"),
            (
                "peak memory",
                f"{peak / 1024**2:,.0f} MiB  (target < 2 GiB: {'ok' if peak < TARGET_BYTES else 'MISSED'})",
            ),
        ]
        width = max(len(k) for k, _ in rows)
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"analyzer parse on {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}, load average {load}")
        for k, v in rows:
            print(f"  {k:<{width}}  {v}")
        if args.keep:
            print(f"  files kept in {tmp}")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
