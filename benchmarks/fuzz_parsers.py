"""Fuzz every parser for a set time, with hypothesis and with atheris, and tabulate the
inputs tried and the crashes found (the target is zero).

    python benchmarks/fuzz_parsers.py [--seconds 30] [--targets auto,csv,...] [--engines hypothesis,atheris]
                                      [--artifacts DIR]

- **hypothesis**: generated inputs (``fuzz.strategies``: random bytes, format-shaped documents,
  mutated seeds) checked against ``fuzz.contract``, in this process. Failures are collected, not
  raised, so one run counts every distinct crash (by exception type and place).
- **atheris**: the coverage-guided target ``fuzz/fuzz_parsers.py`` in a subprocess, seeded with
  ``fuzz.seeds``. libFuzzer stops at a crash; the run is restarted for the time left, and crashes
  are told apart by their traceback.

Every crashing input is saved under ``--artifacts`` (default ``test-artifacts/fuzz``) with its
traceback, to become a regression test in ``tests/test_fuzz_regressions.py``. Exit status 1
when anything crashed.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    """One engine's run on one target."""

    target: str
    engine: str
    seconds: float = 0.0
    inputs: int = 0
    crashes: dict[str, Path] = field(default_factory=dict)  # signature -> saved input
    note: str = ""


class _TimeUp(BaseException):
    """Ends a hypothesis run when its time is spent (a BaseException, so hypothesis neither
    catches it as a test failure nor tries to shrink it)."""


def _signature(exc: BaseException) -> str:
    """Exception type plus the innermost frame inside the analyzer (or the last frame)."""
    frames = traceback.extract_tb(exc.__traceback__)
    cause = exc.__cause__
    if cause is not None and cause.__traceback__ is not None:
        frames = traceback.extract_tb(cause.__traceback__)
        exc = cause
    ours = [f for f in frames if "/analyzer/" in f.filename] or frames
    where = f"{Path(ours[-1].filename).name}:{ours[-1].lineno}" if ours else "?"
    return f"{type(exc).__name__} at {where}"


def _save(folder: Path, target: str, data: bytes, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{target}-crash-{hashlib.sha1(data).hexdigest()[:16]}"
    path.write_bytes(data)
    path.with_suffix(".txt").write_text(text, encoding="utf-8")
    return path


def run_hypothesis(target: str, seconds: float, artifacts: Path) -> Result:
    from hypothesis import HealthCheck, Phase, given, settings

    from fuzz.contract import check
    from fuzz.strategies import inputs

    result = Result(target, "hypothesis")
    deadline = time.monotonic() + seconds

    @settings(
        max_examples=10**9,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(inputs(target))
    def one(data: bytes) -> None:
        if time.monotonic() > deadline:
            raise _TimeUp
        result.inputs += 1
        try:
            check(data, target)
        except Exception as exc:
            sig = _signature(exc)
            if sig not in result.crashes:
                result.crashes[sig] = _save(artifacts, target, data, "".join(traceback.format_exception(exc)))

    start = time.monotonic()
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # hypothesis reports the stop as a failure to reproduce
            one()
    except _TimeUp:
        pass
    result.seconds = time.monotonic() - start
    return result


_EXECUTED = re.compile(r"stat::number_of_executed_units:\s*(\d+)")
_CRASH_FILE = re.compile(r"Test unit written to (\S+)")


def run_atheris(target: str, seconds: float, artifacts: Path, *, max_len: int = 8192) -> Result:
    from fuzz.seeds import write_seeds

    result = Result(target, "atheris")
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"fuzz-{target}-") as tmp:
        corpus = write_seeds(target, Path(tmp) / "corpus")  # libFuzzer adds what it learns here
        crash_dir = Path(tmp) / "crashes"
        crash_dir.mkdir()
        while (left := seconds - (time.monotonic() - start)) >= 1:
            proc = subprocess.run(
                [
                    sys.executable,
                    str(REPO / "fuzz" / "fuzz_parsers.py"),
                    target,
                    f"-max_total_time={int(left)}",
                    f"-max_len={max_len}",
                    "-print_final_stats=1",
                    "-timeout=30",
                    "-rss_limit_mb=2048",
                    f"-artifact_prefix={crash_dir}/",
                    str(corpus),
                ],
                capture_output=True,
                text=True,
                errors="replace",
                cwd=tmp,
                timeout=left + 120,
            )
            log = proc.stdout + proc.stderr
            result.inputs += sum(int(n) for n in _EXECUTED.findall(log))
            if proc.returncode == 0:
                break
            written = _CRASH_FILE.findall(log)
            if not written:
                result.note = f"atheris exited {proc.returncode}: {log.strip().splitlines()[-1:]}"
                break
            data = Path(written[-1]).read_bytes()
            sig = _atheris_signature(log)
            if sig not in result.crashes:
                start_at = max(log.find("=== Uncaught Python exception"), log.find("ALARM:"), 0)
                result.crashes[sig] = _save(artifacts, target, data, log[start_at : start_at + 20000])
            if len(result.crashes) >= 20:
                result.note = "stopped after 20 distinct crashes"
                break
    result.seconds = time.monotonic() - start
    return result


def _atheris_signature(log: str) -> str:
    frames = re.findall(r'File "([^"]+)", line (\d+)', log)
    ours = [f for f in frames if "/analyzer/" in f[0]] or frames
    exc = re.findall(r"^(\w+(?:Error|Exception|Violation|Exit|Interrupt)\b)", log, re.MULTILINE)
    where = f"{Path(ours[-1][0]).name}:{ours[-1][1]}" if ours else "?"
    return f"{exc[-1] if exc else 'crash'} at {where}"


def table(results: list[Result]) -> str:
    rows = [("parser", "engine", "seconds", "inputs tried", "crashes found")]
    for r in results:
        rows.append((r.target, r.engine, f"{r.seconds:.0f}", f"{r.inputs:,}", str(len(r.crashes))))
    rows.append(
        (
            "all",
            "",
            f"{sum(r.seconds for r in results):.0f}",
            f"{sum(r.inputs for r in results):,}",
            str(sum(len(r.crashes) for r in results)),
        )
    )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = []
    for k, row in enumerate(rows):
        lines.append(
            "  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
        )
        if k == 0 or k == len(rows) - 2:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from fuzz.contract import TARGETS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="per parser and engine (default 30)")
    parser.add_argument("--targets", default=",".join(TARGETS), help=f"comma-separated, from {', '.join(TARGETS)}")
    parser.add_argument("--engines", default="hypothesis,atheris")
    parser.add_argument("--artifacts", type=Path, default=REPO / "test-artifacts" / "fuzz")
    args = parser.parse_args(argv)
    targets = [t for t in args.targets.split(",") if t]
    unknown = [t for t in targets if t not in TARGETS]
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}; use {', '.join(TARGETS)}")
    engines = [e for e in args.engines.split(",") if e]
    results: list[Result] = []
    for target in targets:
        for engine in engines:
            run = {"hypothesis": run_hypothesis, "atheris": run_atheris}.get(engine)
            if run is None:
                parser.error(f"unknown engine {engine!r}")
            r = run(target, args.seconds, args.artifacts)
            print(
                f"{target:<11} {engine:<10} {r.inputs:>9,} inputs  {len(r.crashes)} crash(es) {r.note}",
                file=sys.stderr,
                flush=True,
            )
            results.append(r)
    print(table(results))
    crashes = [(r, sig, path) for r in results for sig, path in r.crashes.items()]
    for r, sig, path in crashes:
        print(f"crash: {r.target} ({r.engine}): {sig} -> {path}")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))  # `fuzz` and `analyzer` from this checkout
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.exit(main())
