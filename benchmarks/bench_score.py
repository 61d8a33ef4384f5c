"""Comments per second and peak memory: our Scorer against a naive loop that calls a
``transformers`` pipeline once per comment, with the same models on the same thread.

Each variant runs in its own subprocess, so peak memory (``ru_maxrss``) and warm
caches of one cannot flatter the other. Model loading is timed apart from scoring.

    python benchmarks/bench_score.py                       # default models in models/
    python benchmarks/bench_score.py --model DIR --model DIR --limit 500
"""

from __future__ import annotations

import argparse
import html
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_THREAD = REPO.parent / "shared" / "data" / "threads" / "hackernews" / "hn_25015967_biden_wins.json"
VARIANTS = ("scorer", "scorer-bf16", "scorer-int8", "naive")


def load_texts(path: Path, limit: int | None) -> list[str]:
    """Comment texts of the thread (post excluded), through our parser when it is there."""
    try:
        from analyzer.parsers import parse_path

        texts = [c.text for thread in parse_path(path) for c in thread.comments]
    except ImportError:  # parsers not installed: read the Hacker News JSON directly
        texts = _hn_texts(json.loads(path.read_text(encoding="utf-8")))
    texts = [t for t in texts if t and t.strip()]
    return texts[:limit] if limit else texts


def _hn_texts(item: dict[str, Any]) -> list[str]:
    out: list[str] = []
    stack = list(reversed(item.get("comments") or []))
    while stack:
        node = stack.pop()
        text = re.sub(r"<[^>]+>", " ", (node.get("content") or "").replace("<p>", "\n\n"))
        out.append(html.unescape(text).strip())
        stack.extend(reversed(node.get("comments") or []))
    return out


def cpu_seconds() -> float:
    """CPU time this process has used: on a machine shared with other jobs, throughput
    per CPU-second is steadier than wall-clock throughput."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    """Peak resident memory of this process (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_variant(variant: str, models: list[str], texts: list[str], batch_size: int, threads: int | None,
                scores_out: Path | None = None) -> dict[str, Any]:
    """Score ``texts`` with every model; returns timings. Runs inside the subprocess."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    start = time.perf_counter()
    cpu_start = 0.0
    if variant.startswith("scorer"):
        from analyzer.classifier import Classifier
        from analyzer.scorer import Scorer

        precision = {"scorer-bf16": "bfloat16", "scorer-int8": "int8"}.get(variant, "float32")
        classifiers = [Classifier.from_pretrained(m, device="cpu", precision=precision) for m in models]
        scorer = Scorer(classifiers, batch_size=batch_size)
        loaded, cpu_start = time.perf_counter(), cpu_seconds()
        results = scorer.score_texts(texts)
        windowed = sum(r.windowed for r in results)
        if scores_out is not None:
            scores_out.write_text(json.dumps([r.scores for r in results]))
    else:
        from transformers import pipeline

        from analyzer.classifier import Classifier

        pipes = []
        for m in models:
            multi = Classifier.from_pretrained(m, device="cpu").multi_label  # same activation as ours
            pipes.append(pipeline("text-classification", model=m, top_k=None, device="cpu",
                                  function_to_apply="sigmoid" if multi else "softmax"))
        loaded, cpu_start = time.perf_counter(), cpu_seconds()
        for text in texts:
            for pipe in pipes:
                pipe(text, truncation=True)
        windowed = 0
    done, cpu = time.perf_counter(), cpu_seconds() - cpu_start
    return {
        "variant": variant,
        "comments": len(texts),
        "load_s": round(loaded - start, 2),
        "score_s": round(done - loaded, 2),
        "comments_per_s": round(len(texts) / max(done - loaded, 1e-9), 2),
        "cpu_s": round(cpu, 2),
        "comments_per_cpu_s": round(len(texts) / max(cpu, 1e-9), 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "windowed": windowed,
        "threads": torch.get_num_threads(),
    }


def _max_difference(a: Path, b: Path) -> float | None:
    """Largest absolute difference between two variants' scores, when both ran."""
    if not (a.is_file() and b.is_file()):
        return None
    left, right = json.loads(a.read_text()), json.loads(b.read_text())
    return max((abs(x[k] - y[k]) for x, y in zip(left, right) for k in x), default=0.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", default=[], metavar="DIR",
                        help="model folder (repeatable; default: the default models in models/)")
    parser.add_argument("--thread", type=Path, default=DEFAULT_THREAD, help="thread file to score")
    parser.add_argument("--limit", type=int, default=None, help="score only the first N comments")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (both variants)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated, from: " + ",".join(VARIANTS))
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--_child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--_scores", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if not args.model:
        from analyzer.models import default_model_dirs

        args.model = [str(d) for d in default_model_dirs()]
    texts = load_texts(args.thread, args.limit)

    if args._child:
        result = run_variant(args._child, args.model, texts, args.batch_size, args.threads, args._scores)
        print(json.dumps(result))
        return 0

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for variant in args.variants.split(","):
            cmd = [sys.executable, __file__, "--_child", variant, "--thread", str(args.thread),
                   "--batch-size", str(args.batch_size), "--_scores", str(Path(tmp) / f"{variant}.json")]
            cmd += [x for m in args.model for x in ("--model", m)]
            cmd += ["--limit", str(args.limit)] if args.limit else []
            cmd += ["--threads", str(args.threads)] if args.threads else []
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                sys.stderr.write(proc.stderr)
                return proc.returncode
            rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        drift = {v: _max_difference(Path(tmp) / "scorer.json", Path(tmp) / f"{v}.json")
                 for v in ("scorer-bf16", "scorer-int8")}

    print(f"thread: {args.thread.name} ({len(texts)} comments); models: {', '.join(Path(m).name for m in args.model)}")
    header = (f"{'variant':<12} {'comments/s':>11} {'score s':>8} {'per CPU-s':>10} {'load s':>7} {'peak MB':>8} "
              f"{'windowed':>9} {'threads':>8}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['variant']:<12} {r['comments_per_s']:>11.2f} {r['score_s']:>8.2f} {r['comments_per_cpu_s']:>10.2f} "
              f"{r['load_s']:>7.2f} "
              f"{r['peak_rss_mb']:>8.1f} {r['windowed']:>9} {r['threads']:>8}")
    by = {r["variant"]: r for r in rows}
    for variant in ("scorer", "scorer-bf16", "scorer-int8"):
        if variant in by and "naive" in by:
            ratio = by[variant]["comments_per_s"] / max(by["naive"]["comments_per_s"], 1e-9)
            cpu_ratio = by[variant]["comments_per_cpu_s"] / max(by["naive"]["comments_per_cpu_s"], 1e-9)
            print(f"speed-up ({variant}): {ratio:.1f}x the naive pipeline loop in wall time, "
                  f"{cpu_ratio:.1f}x per CPU-second (target: >= 5x)")
    for variant, diff in drift.items():
        if diff is not None:
            print(f"largest score difference {variant} vs scorer (float32): {diff:.2e}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
