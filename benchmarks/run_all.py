"""One command, one table: how fast the default models score on this machine.

Rows: the naive per-comment ``transformers`` pipeline loop, our Scorer in float32, the fast
precisions, and the Dask engine with 1 and 2 worker processes, on the Hacker News thread
(2,170 real comments) and on 100,000 real comments (the real threads repeated; see
``bench_scale.py``). Columns: comments per second, the speed-up over the naive loop, peak
memory, and the floating-point work done per second as a share of this machine's measured
float32 matrix-multiply peak (same thread count).

    python benchmarks/run_all.py            # 100,000 comments for the default and the 2-worker cluster
    python benchmarks/run_all.py --quick    # 5,000 comments, naive loop on 500
    python benchmarks/run_all.py --full     # every row on all 100,000 (hours on 2 cores)

Steady-state rates do not depend on how many comments a row scores, so by default the
slower comparison rows (float32, bfloat16, Dask with 1 worker) score
``--subset`` comments of the 100,000 and the naive loop ``--naive-limit`` (every k-th comment,
so each sees the same mix of platforms and lengths);
the "comments" column says how many each row scored.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_scale

TARGET_SPEEDUP = 5.0
TARGET_PEAK_SHARE = 0.40


TARGET_ONE_ENCODER = 1.8  # issue 13: the multi-head default against the two-model one, same precision


def cli_default_precision() -> str:
    """The precision ``analyzer score`` uses when none is given: the one the targets are for."""
    from analyzer.commands.score import score

    for param in score.params:
        if param.name == "precision":
            return str(param.default)
    return "float32"


def resolved(precision: str) -> str:
    """What ``precision`` runs as here ("auto": int8 on a CPU with a quantized engine)."""
    if precision != "auto":
        return precision
    from analyzer.scoring.classifier import int8_available

    return "int8" if int8_available() else "float32"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="DIR",
        help="model folder (repeatable; default: the default models in models/)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="5,000 comments at scale, naive loop on 500, bfloat16 on the HN thread only",
    )
    parser.add_argument("--scale-comments", type=int, default=None, help="comments in the scale dataset")
    parser.add_argument("--hn-comments", type=int, default=None, help="first N comments of the HN thread")
    parser.add_argument("--naive-limit", type=int, default=None, help="comments the naive loop scores per dataset")
    parser.add_argument(
        "--subset",
        type=int,
        default=20_000,
        help="comments the float32, bfloat16 and dask-1 rows score on the scale dataset",
    )
    parser.add_argument("--full", action="store_true", help="every row scores every comment (naive loop excepted)")
    parser.add_argument("--datasets", default="hn,scale")
    parser.add_argument("--variants", default=",".join(bench_scale.VARIANTS))
    parser.add_argument("--threads", type=int, default=None, help="torch threads in all (default: every core)")
    parser.add_argument("--json", type=Path, default=None, help="also write every measurement here")
    parser.add_argument(
        "--one-encoder",
        default=str(Path(__file__).resolve().parents[1] / "models" / "multi-minilm"),
        help="a multi-head model folder measured beside the default models at the default precision "
        "(issue 13: one forward pass for every label); 'none' to skip",
    )
    args = parser.parse_args(argv)

    models = args.model or bench_scale.default_models()
    threads = args.threads or bench_scale.default_threads()
    scale_n = args.scale_comments or (5_000 if args.quick else 100_000)
    naive_n = args.naive_limit or (500 if args.quick else 2_000)
    default = cli_default_precision()
    variants = args.variants.split(",")

    peak = bench_scale.matmul_peak_gflops(threads)
    results: dict[str, Any] = {
        "matmul_peak_gflops": peak,
        "threads": threads,
        "default_precision": default,
        "default_runs_as": resolved(default),
        "models": models,
        "datasets": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.datasets.split(","):
            dataset = bench_scale.build_dataset(
                name, Path(tmp) / f"{name}.parquet", args.hn_comments if name == "hn" else scale_n
            )
            texts = bench_scale.read_texts(dataset)
            flops = bench_scale.workload_flops(models, texts) / len(texts)
            sample = texts[:40]
            check = bench_scale.measured_flops(models, sample) / max(bench_scale.workload_flops(models, sample), 1)
            rows = []
            full_rows = {f"scorer-{resolved(default)}", "dask-2"}
            for variant in variants:
                if args.quick and name == "scale" and variant == "scorer-bfloat16":
                    continue  # not the default on a CPU; the HN rows show it
                limit = naive_n if variant == "naive" and naive_n < len(texts) else None
                if (
                    name == "scale"
                    and not args.full
                    and variant not in full_rows | {"naive"}
                    and args.subset < len(texts)
                ):
                    limit = args.subset
                row = bench_scale.run_in_child(
                    variant,
                    dataset,
                    models,
                    limit=limit,
                    threads=threads,
                    dask_precision=default,
                    partition_size=256 if name == "hn" else 1000,
                )
                rows.append(row)
                print(f"  {name:<6} {variant:<16} {row['comments_per_s']:8.1f} comments/s", file=sys.stderr)
            if args.one_encoder != "none":
                variant = f"scorer-{resolved(default)}"
                base = next((r for r in rows if r.get("variant") == variant), None)
                row = bench_scale.run_in_child(
                    variant,
                    dataset,
                    [args.one_encoder],
                    limit=args.subset if name == "scale" and not args.full and args.subset < len(texts) else None,
                    threads=threads,
                    dask_precision=default,
                    partition_size=256 if name == "hn" else 1000,
                )
                row["variant"] = f"one-encoder-{resolved(default)}"
                if base is not None:
                    row["vs_default"] = row["comments_per_s"] / base["comments_per_s"]
                rows.append(row)
                print(
                    f"  {name:<6} {row['variant']:<16} {row['comments_per_s']:8.1f} comments/s"
                    + (f" ({row['vs_default']:.2f}x the two-model default)" if "vs_default" in row else ""),
                    file=sys.stderr,
                )
            results["datasets"][name] = {
                "comments": len(texts),
                "flops_per_comment": flops,
                "flop_counter_ratio": check,
                "rows": rows,
            }

    print_table(results, cpu_name())
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


def print_table(results: dict[str, Any], cpu: str) -> None:
    peak, default = results["matmul_peak_gflops"], results["default_precision"]
    print(
        f"CPU: {cpu}, {results['threads']} torch threads; float32 matmul peak {peak:.1f} GFLOP/s "
        f"(4096x4096 torch.matmul, same threads)"
    )
    runs_as = results["default_runs_as"]
    print(
        f"models: {', '.join(Path(m).name for m in results['models'])}; default precision: {default} "
        f"(= {runs_as} here); Dask rows use it"
    )
    header = (
        f"{'dataset':<8} {'variant':<16} {'comments':>9} {'comments/s':>11} {'x naive':>8} {'peak MB':>8} "
        f"{'GFLOP/s':>8} {'% peak':>7}"
    )
    print(header)
    print("-" * len(header))
    verdicts = []
    for name, data in results["datasets"].items():
        rows = {r["variant"]: r for r in data["rows"]}
        naive = rows.get("naive", {}).get("comments_per_s")
        for r in data["rows"]:
            gflops = r["comments_per_s"] * data["flops_per_comment"] / 1e9
            ratio = f"{r['comments_per_s'] / naive:.1f}" if naive else "-"
            n = data["comments"]
            label = name if name != "scale" else (f"{n / 1000:g}k" if n >= 1000 else str(n))
            print(
                f"{label:<8} {r['variant']:<16} {r['comments']:>9,} {r['comments_per_s']:>11.1f} {ratio:>8} "
                f"{r['peak_rss_mb']:>8.0f} {gflops:>8.1f} {100 * gflops / peak:>6.1f}%"
            )
        print(
            f"{'':<8} work per comment: {data['flops_per_comment'] / 1e9:.2f} GFLOP counted from the model configs "
            f"(FlopCounterMode / counted on a sample: {data['flop_counter_ratio']:.3f})"
        )
        best = rows.get(f"scorer-{runs_as}")
        if best and naive:
            speedup = best["comments_per_s"] / naive
            share = best["comments_per_s"] * data["flops_per_comment"] / 1e9 / peak
            verdicts.append(
                f"{name}: default ({runs_as}) {speedup:.1f}x naive "
                f"({'meets' if speedup >= TARGET_SPEEDUP else 'misses'} >= {TARGET_SPEEDUP:.0f}x), "
                f"{100 * share:.0f}% of the float32 matmul peak "
                f"({'meets' if share >= TARGET_PEAK_SHARE else 'misses'} "
                f">= {100 * TARGET_PEAK_SHARE:.0f}%)"
            )
        one = next((r for r in data["rows"] if r["variant"].startswith("one-encoder") and "vs_default" in r), None)
        if one:
            x = one["vs_default"]
            verdicts.append(
                f"{name}: one encoder for every label {x:.2f}x the two-model default "
                f"({'meets' if x >= TARGET_ONE_ENCODER else 'misses'} >= {TARGET_ONE_ENCODER}x)"
            )
    print(
        "naive: one pipeline call per comment and model, truncated at the tokenizer's limit; GFLOP/s of every row "
        "counts the Scorer's work for the same comments (the one-encoder row does half that work)"
    )
    for line in verdicts:
        print("target " + line)


if __name__ == "__main__":
    sys.exit(main())
