"""The cost of context: comments per second on the Hacker News thread (2,170 real comments,
depth up to 20) with the context-free toxicity model alone, and with the pair model beside it
(every comment also read with its parent: a second, longer input per comment).

    python benchmarks/bench_context.py [--model models/toxicity-minilm] [--context-model models/context-minilm]
                                       [--threads N] [--repeats 2]

Both rows run in this one process, side by side, on the same records with no score cache,
after one warm-up pass each; the table gives the best of ``--repeats`` runs, the slowdown,
and how many pairs the context model read.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HN = ROOT.parent / "shared" / "data" / "threads" / "hackernews" / "hn_25015967_biden_wins.json"


def records(path: Path) -> list[dict]:
    """The thread's records as parsers write them (post first, parents before replies)."""
    from analyzer.parsers import iter_threads

    out: list[dict] = []
    for thread in iter_threads([path]):
        out.extend(thread.records())
    return out


def timed(scorer, recs: list[dict], repeats: int) -> tuple[float, int]:
    """Best seconds over ``repeats`` passes of ``score_records``, and the pairs read."""
    best, pairs = float("inf"), 0
    for _ in range(repeats):
        start = time.perf_counter()
        out = list(scorer.score_records(recs))
        best = min(best, time.perf_counter() - start)
        pairs = sum(1 for r in out if "context_scores" in r)
    return best, pairs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(ROOT / "models" / "toxicity-minilm"))
    ap.add_argument("--context-model", default=str(ROOT / "models" / "context-minilm"))
    ap.add_argument("--thread", type=Path, default=HN)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--repeats", type=int, default=2)
    a = ap.parse_args(argv)

    import torch

    from analyzer.scoring.classifier import Classifier
    from analyzer.scoring.scorer import Scorer

    if a.threads:
        torch.set_num_threads(a.threads)
    if not Path(a.context_model).is_dir():
        print(f"no context model at {a.context_model}; pass --context-model DIR", file=sys.stderr)
        return 2
    recs = records(a.thread)
    n = sum(1 for r in recs if (r.get("text") or "").strip())
    plain = Classifier.from_pretrained(a.model)
    pair = Classifier.from_pretrained(a.context_model)
    rows = []
    for name, scorer in (("alone", Scorer([plain])), ("with context", Scorer([plain, pair]))):
        list(scorer.score_records(recs[:64]))  # warm-up: weights paged in, kernels chosen
        seconds, pairs = timed(scorer, recs, a.repeats)
        rows.append((name, seconds, pairs))
    base = rows[0][1]
    print(f"# Cost of context on {a.thread.name}: {n} comments, torch threads {torch.get_num_threads()}")
    print()
    print("| scoring | seconds | comments/s | pairs read | time vs alone |")
    print("|---|---|---|---|---|")
    for name, seconds, pairs in rows:
        print(f"| {name} | {seconds:.1f} | {n / seconds:.1f} | {pairs} | {seconds / base:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
