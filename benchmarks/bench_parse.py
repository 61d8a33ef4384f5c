"""Benchmark ``analyzer parse`` on generated JSON Lines (default: 1,000,000 comments), and
the Reddit dump reader on a generated Pushshift-style file of as many comments.

Generates random reply trees in a temporary folder, runs ``python -m analyzer parse`` on them
as a separate process (so its peak memory is its own), and prints wall time and peak
resident memory against the targets of issue 2 (under 30 s and 2 GB).

The dump (issue 14) copies the shape of the real sample (``reddit-pushshift/RC_t3_21259.ndjson``
in ../shared/data: its keys and value types) into one NDJSON file in which the threads'
comments interleave, as in time-sorted monthly dumps, and the same zstd-compressed with a long
window. It is read with ``analyzer.parsers.iter_threads`` in a separate process, records
written as ``analyzer parse`` writes them; its peak memory should stay near that of one
thread, far below the file's size.

    python benchmarks/bench_parse.py [--comments 1000000] [--threads 1000] [--files 10] [--keep]
                                     [--dump-threads 2000] [--no-dump] [--no-zstd]
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


_SAMPLE = Path(__file__).resolve().parent.parent.parent / "shared/data/threads/reddit-pushshift/RC_t3_21259.ndjson"
_TEMPLATE = {  # the sample's first line, in case the shared data is not there
    "subreddit": "reddit.com",
    "ups": -2,
    "score": -2,
    "created_utc": 1135431200,
    "author_flair_css_class": None,
    "body": "So true",
    "controversiality": 1,
    "subreddit_id": "t5_6",
    "stickied": False,
    "link_id": "t3_21259",
    "gilded": 0,
    "distinguished": None,
    "retrieved_on": 1473820909,
    "author": "percyx",
    "author_flair_text": None,
    "edited": False,
    "parent_id": "t3_21259",
    "id": "c1893",
}


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def generate_dump(path: Path, n_comments: int, n_threads: int, seed: int = 11) -> None:
    """Pushshift comment lines shaped like the sample's, ``n_threads`` submissions whose
    comments interleave round by round (each thread's k-th comment, then the (k+1)-th...):
    the worst case for grouping by ``link_id``, since no thread is complete before the end."""
    rng = random.Random(seed)
    template = json.loads(_SAMPLE.read_text().split("\n", 1)[0]) if _SAMPLE.is_file() else dict(_TEMPLATE)
    per_thread = -(-n_comments // n_threads)
    written = 0
    start = 1_135_400_000
    with path.open("w", encoding="utf-8") as f:
        for k in range(per_thread):
            lines = []
            for t in range(n_threads):
                if written >= n_comments:
                    break
                link = _base36(100_000 + t)
                top = k == 0 or rng.random() < 0.25
                parent = (
                    f"t3_{link}"
                    if top
                    else f"t1_{_base36((t * per_thread + rng.randrange(max(0, k - 50), k)) + 10**6)}"
                )
                row = dict(template)
                row.update(
                    id=_base36(t * per_thread + k + 10**6),
                    link_id=f"t3_{link}",
                    parent_id=parent,
                    author=f"user{rng.randrange(50_000)}",
                    created_utc=start + k * 60 + t,
                    body=" ".join(rng.choices(_WORDS, k=rng.randrange(5, 40))),
                    score=rng.randrange(-5, 50),
                )
                lines.append(json.dumps(row))
                written += 1
            f.write("\n".join(lines) + "\n")


def compress_zstd(src: Path, dst: Path) -> float:
    """``zstd --long=27``-style compression, streamed; seconds taken."""
    import zstandard

    t0 = time.perf_counter()
    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=27, enable_ldm=True, threads=-1)
    with src.open("rb") as fin, dst.open("wb") as fout:
        zstandard.ZstdCompressor(compression_params=params).copy_stream(fin, fout)
    return time.perf_counter() - t0


_DUMP_READER = """
import json, sys
from analyzer.parsers import iter_threads
encode = json.JSONEncoder(ensure_ascii=False, default=str).encode
out = sys.stdout.buffer
threads = 0
for thread in iter_threads([sys.argv[1]]):
    threads += 1
    out.write(("\\n".join(encode(r) for r in thread.records()) + "\\n").encode("utf-8", "surrogatepass"))
print(threads, file=sys.stderr)
"""


def run(path: Path, out: Path, command: list[str] | None = None) -> tuple[float, float, int, int]:
    """(wall seconds, CPU seconds, peak RSS bytes, exit status) of ``analyzer parse`` (or
    ``command``) on ``path``. CPU time shows the cost when other work shares the machine."""
    argv = command or [sys.executable, "-m", "analyzer", "parse"]
    with out.open("wb") as sink, open(os.devnull, "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([*argv, str(path)], stdout=sink, stderr=err)
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
    ap.add_argument("--dump-threads", type=int, default=2_000, help="submissions in the Reddit dump")
    ap.add_argument("--no-dump", action="store_true", help="skip the Reddit dump")
    ap.add_argument("--no-zstd", action="store_true", help="skip the zstd-compressed dump")
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
        if not args.no_dump:
            ok = bench_dump(tmp, args) and ok
        if args.keep:
            print(f"  files kept in {tmp}")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(0 if ok else 1)


def bench_dump(tmp: Path, args: argparse.Namespace) -> bool:
    """The Reddit dump rows: plain NDJSON and .zst, rate and peak memory."""
    dump = tmp / "RC_bench.ndjson"
    t0 = time.perf_counter()
    generate_dump(dump, args.comments, args.dump_threads)
    gen = time.perf_counter() - t0
    inputs = [("NDJSON", dump)]
    notes = {"NDJSON": f"{dump.stat().st_size / 1e6:,.0f} MB (generated in {gen:.1f} s)"}
    if not args.no_zstd:
        zst = tmp / "RC_bench.zst"
        took = compress_zstd(dump, zst)
        inputs.append(("zstd", zst))
        notes["zstd"] = f"{zst.stat().st_size / 1e6:,.0f} MB (compressed in {took:.1f} s)"
    print(f"Reddit dump ({args.comments:,} comments in {args.dump_threads:,} interleaved threads, iter_threads)")
    ok = True
    for label, path in inputs:
        out = tmp / f"records_{label}.jsonl"
        wall, cpu, peak, code = run(path, out, [sys.executable, "-c", _DUMP_READER])
        with out.open("rb") as f:
            records = sum(1 for _ in f)
        out.unlink()
        good = code == 0 and records == args.comments
        ok = ok and good
        rate = records / wall if wall else 0.0
        print(
            f"  {label:<6}  input {notes[label]}; {records:,} records"
            + ("" if good else f" (exit {code}: FAILED)")
            + f"; wall {wall:.1f} s ({rate:,.0f} comments/s), CPU {cpu:.1f} s; peak memory {peak / 1024**2:,.0f} MiB"
        )
    return ok


if __name__ == "__main__":
    main()
