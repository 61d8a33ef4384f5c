"""Throughput at scale: the naive per-comment pipeline loop, our Scorer (float32 and the
fast precisions) and the Dask engine with 1 and 2 worker processes, on the same texts.

Each variant runs in its own subprocess, so peak memory (VmHWM; for Dask the sum
over the client and its workers) and warm caches of one cannot flatter another. Model
loading and cluster start-up are timed apart from scoring. ``benchmarks/run_all.py``
runs this on the Hacker News thread and on 100,000 comments and prints one table.

    python benchmarks/bench_scale.py --dataset hn --variants naive,scorer-float32,dask-2
    python benchmarks/bench_scale.py --dataset scale --comments 100000

The "scale" dataset is every real thread under ../shared/data/threads repeated until
there are enough comments; each repeat gets new thread and comment ids, and its texts
get an invisible tag (zero-width characters that the tokenizer drops), so that the
score cache and de-duplication cannot skip a repeat while the models see exactly the
tokens of the real comments.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SHARED_THREADS = REPO.parent / "shared" / "data" / "threads"
HN_THREAD = SHARED_THREADS / "hackernews" / "hn_25015967_biden_wins.json"
VARIANTS = ("naive", "scorer-float32", "scorer-bfloat16", "scorer-int8", "dask-1", "dask-2")
# also accepted: "scorer-auto" (the default precision for the device, e.g. bfloat16 on a GPU)
_TAG_BITS = ("\u200b", "\u200c")  # zero-width space / non-joiner: category Cf, dropped by the tokenizer


# ---------------------------------------------------------------------- data
def _thread_rows(paths: Sequence[Path]) -> list[dict[str, str]]:
    from analyzer.parsers import parse_path

    rows = []
    for path in paths:
        for thread in parse_path(path):
            for c in thread.comments:
                if c.text and c.text.strip():
                    rows.append({"thread_id": thread.id, "id": c.id, "text": c.text})
    return rows


def _tag(k: int) -> str:
    """An invisible, unique suffix for repeat ``k`` (empty for the original)."""
    return "" if k == 0 else "".join(_TAG_BITS[int(b)] for b in bin(k)[2:]) + _TAG_BITS[1] * 2


def build_dataset(name: str, dest: Path, comments: int | None = None) -> Path:
    """Write the dataset as Parquet (thread_id, id, text): "hn" is the Hacker News thread's
    comments; "scale" the real threads repeated to ``comments`` rows."""
    import pandas as pd

    if name == "hn":
        rows = _thread_rows([HN_THREAD])
        if comments:
            rows = rows[:comments]
    else:
        base = _thread_rows([SHARED_THREADS])
        target = comments or 100_000
        rows = []
        k = 0
        while len(rows) < target:
            for r in base[: target - len(rows)]:
                rows.append({"thread_id": f"{r['thread_id']}~{k}", "id": f"{r['id']}~{k}", "text": r["text"] + _tag(k)})
            k += 1
    dest.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=["thread_id", "id", "text"]).to_parquet(dest, index=False)
    return dest


def spread(n_rows: int, limit: int | None) -> slice:
    """The rows a row limited to ``limit`` comments scores: evenly spread over the dataset
    (every k-th), so a limited row sees the same mix of platforms and lengths as a full one."""
    if not limit or limit >= n_rows:
        return slice(None)
    step = n_rows // limit
    return slice(0, step * limit, step)


def read_texts(dataset: Path, limit: int | None = None) -> list[str]:
    import pandas as pd

    texts = pd.read_parquet(dataset, columns=["text"])["text"].tolist()
    return texts[spread(len(texts), limit)]


# ---------------------------------------------------------------------- measures
def peak_rss_mb() -> float:
    """Peak resident memory of this process, in MiB: VmHWM, the high-water mark of this
    process's own memory. (``ru_maxrss`` would do on other systems, but Linux carries it over
    from the parent across fork and exec, so a child would report at least its parent's size.)"""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)


def matmul_peak_gflops(threads: int, n: int = 4096, repeats: int = 5) -> float:
    """This machine's float32 matrix-multiply rate with ``threads`` torch threads: the best
    of a few large square products (GFLOP/s, 2n^3 per product)."""
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.matmul(a, b)  # warm up: thread pool, MKL buffers
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.matmul(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def workload_flops(model_dirs: Sequence[str], texts: Sequence[str]) -> float:
    """Floating-point operations our Scorer does for ``texts`` (every model, every window,
    no padding), counted from each model's config: per window of n tokens and each of L
    layers, 2n(4d^2 + 2df) for the projections and feed-forward plus 4n^2 d for attention;
    plus pooler and head. Multiply-add = 2 operations."""
    from analyzer.scoring.classifier import Classifier

    total = 0.0
    for folder in model_dirs:
        clf = Classifier.from_pretrained(folder, device="cpu")
        cfg = clf.model.config
        d, f, layers, labels = cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers, cfg.num_labels
        prefix, suffix = clf.special_tokens()
        extra = len(prefix) + len(suffix)
        for ids in clf.encode([t for t in texts if t.strip()]):
            for start, end in clf.window_spans(len(ids)):
                n = end - start + extra
                total += layers * (2 * n * (4 * d * d + 2 * d * f) + 4 * n * n * d) + 2 * d * d + 2 * d * labels
    return total


def measured_flops(model_dirs: Sequence[str], texts: Sequence[str]) -> float:
    """The same count measured by torch's FlopCounterMode on unpadded windows (matmuls and
    attention only), to check ``workload_flops`` on a sample."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from analyzer.scoring.classifier import Classifier

    total = 0
    for folder in model_dirs:
        clf = Classifier.from_pretrained(folder, device="cpu")
        windows = [w for ids in clf.encode([t for t in texts if t.strip()]) for w in clf.windows(ids)]
        counter = FlopCounterMode(display=False)
        with counter, torch.inference_mode():
            for w in windows:
                clf.forward([w])
        total += counter.get_total_flops()
    return float(total)


# ---------------------------------------------------------------------- variants (in the child)
def run_variant(
    variant: str,
    dataset: Path,
    models: list[str],
    *,
    limit: int | None,
    batch_size: int,
    threads: int,
    dask_precision: str,
    partition_size: int,
    device: str = "cpu",
) -> dict[str, Any]:
    """Score the dataset one way; returns timings and peak memory. Runs in a subprocess."""
    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    torch.set_num_threads(threads)
    texts = read_texts(dataset, limit)
    start = time.perf_counter()
    extra: dict[str, Any] = {}
    if variant == "naive":
        from transformers import AutoConfig, pipeline

        pipes = []
        for m in models:
            multi = AutoConfig.from_pretrained(m).problem_type == "multi_label_classification"
            # float32 as our Scorer runs: the folders store float16 weights, which the pipeline
            # would otherwise keep, and float16 on a CPU is ~2x slower still (no fair baseline)
            pipes.append(
                pipeline(
                    "text-classification",
                    model=m,
                    top_k=None,
                    device="cpu",
                    dtype=torch.float32,
                    function_to_apply="sigmoid" if multi else "softmax",
                )
            )
        loaded = time.perf_counter()
        for text in texts:
            for pipe in pipes:
                pipe(text, truncation=True)
        done = time.perf_counter()
        peak = peak_rss_mb()
    elif variant.startswith("scorer-"):
        from analyzer.scoring.classifier import Classifier
        from analyzer.scoring.scorer import Scorer

        precision = variant.removeprefix("scorer-")
        scorer = Scorer(
            [Classifier.from_pretrained(m, device=device, precision=precision) for m in models], batch_size=batch_size
        )
        loaded = time.perf_counter()
        results = scorer.score_texts(texts)
        done = time.perf_counter()
        peak = peak_rss_mb()
        extra["windowed"] = sum(r.windowed for r in results)
    elif variant.startswith("dask-"):
        from analyzer.scoring import distributed

        workers = int(variant.removeprefix("dask-"))
        options = distributed.ScoreOptions(
            model_dirs=[str(Path(m).resolve()) for m in models], precision=dask_precision, batch_size=batch_size
        )
        source = dataset
        if limit:
            source = dataset.with_name(f"{dataset.stem}-{limit}.parquet")
            import pandas as pd

            frame = pd.read_parquet(dataset)
            frame.iloc[spread(len(frame), limit)].to_parquet(source, index=False)
        with (
            distributed.connect(n_workers=workers, threads_per_worker=max(1, threads // workers)) as client,
            tempfile.TemporaryDirectory() as out,
        ):
            distributed.warm_up(client, options.model_dirs, precision=options.precision, device=options.device)
            loaded = time.perf_counter()
            summary = distributed.score_files([source], out, options, client=client, partition_size=partition_size)
            done = time.perf_counter()
            worker_peaks = client.run(peak_rss_mb)
            peak = peak_rss_mb() + sum(worker_peaks.values())
        extra["partitions"] = summary.partitions
        extra["precision"] = dask_precision
        assert summary.records == len(texts), (summary.records, len(texts))
    else:
        raise SystemExit(f"unknown variant {variant!r}; use one of {', '.join(VARIANTS)}")
    return {
        "variant": variant,
        "comments": len(texts),
        "load_s": round(loaded - start, 2),
        "score_s": round(done - loaded, 3),
        "comments_per_s": len(texts) / max(done - loaded, 1e-9),
        "peak_rss_mb": round(peak, 1),
        "threads": threads,
        "device": device if variant.startswith("scorer-") else "cpu",
        **extra,
    }


def run_in_child(
    variant: str,
    dataset: Path,
    models: list[str],
    *,
    limit: int | None = None,
    batch_size: int = 32,
    threads: int | None = None,
    dask_precision: str = "float32",
    partition_size: int = 1000,
    device: str = "cpu",
) -> dict[str, Any]:
    """``run_variant`` in a fresh Python process; its result."""
    cmd = [
        sys.executable,
        __file__,
        "--_child",
        variant,
        "--_dataset",
        str(dataset),
        "--batch-size",
        str(batch_size),
        "--threads",
        str(threads or default_threads()),
        "--dask-precision",
        dask_precision,
        "--partition-size",
        str(partition_size),
        "--device",
        device,
    ]
    cmd += [x for m in models for x in ("--model", m)]
    cmd += ["--limit", str(limit)] if limit else []
    from analyzer.scoring.frames import OPENMP_ENV

    # every variant runs with the OpenMP settings analyzer score uses (the naive loop too)
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**OPENMP_ENV, **os.environ})
    if proc.returncode != 0:
        raise RuntimeError(f"{variant} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def default_threads() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def default_models() -> list[str]:
    from analyzer.scoring.defaults import default_model_dirs

    return [str(d) for d in default_model_dirs()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="DIR",
        help="model folder (repeatable; default: the default models in models/)",
    )
    parser.add_argument("--dataset", choices=("hn", "scale"), default="hn")
    parser.add_argument("--comments", type=int, default=None, help="rows of the dataset (scale: default 100,000)")
    parser.add_argument("--limit", type=int, default=None, help="score only the first N rows")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None, help="torch threads in all (default: every core)")
    parser.add_argument("--dask-precision", default="float32")
    parser.add_argument("--device", default="cpu", help="where the scorer-* rows run: cpu, cuda, cuda:1 ...")
    parser.add_argument("--partition-size", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--_child", help=argparse.SUPPRESS)
    parser.add_argument("--_dataset", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    models = args.model or default_models()
    threads = args.threads or default_threads()
    if args._child:
        print(
            json.dumps(
                run_variant(
                    args._child,
                    args._dataset,
                    models,
                    limit=args.limit,
                    batch_size=args.batch_size,
                    threads=threads,
                    dask_precision=args.dask_precision,
                    partition_size=args.partition_size or 1000,
                    device=args.device,
                )
            )
        )
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        dataset = build_dataset(args.dataset, Path(tmp) / f"{args.dataset}.parquet", args.comments)
        partition = args.partition_size or (256 if args.dataset == "hn" else 1000)
        rows = [
            run_in_child(
                v,
                dataset,
                models,
                limit=args.limit,
                batch_size=args.batch_size,
                threads=threads,
                dask_precision=args.dask_precision,
                partition_size=partition,
                device=args.device,
            )
            for v in args.variants.split(",")
        ]
    print(f"{'variant':<16} {'comments':>9} {'comments/s':>11} {'peak MB':>8}")
    for r in rows:
        print(f"{r['variant']:<16} {r['comments']:>9} {r['comments_per_s']:>11.1f} {r['peak_rss_mb']:>8.0f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
