"""The Dask engine and the pandas scoring step on the tiny test models and real threads:
a LocalCluster of two worker processes gives exactly the in-process scores, failed tasks
and dead workers are retried, an interrupted run resumes from the score cache, and the
CLI's ``--engine dask`` / ``--scheduler`` / ``--out`` reach the same results."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from analyzer.errors import InputError
from analyzer.parsers import parse_path
from analyzer.scoring import distributed
from analyzer.scoring.classifier import Classifier
from analyzer.scoring.frames import FrameScorer, score_frame, score_frames, spark_columns
from analyzer.scoring.scorer import Scorer

pytest_plugins = ["conftest_models"]
pytest.importorskip("distributed")

LABELS = ["toxicity", "severe_toxicity", "insult", "identity_attack", "negative", "neutral", "positive"]


@pytest.fixture(scope="module")
def hn_thread(shared_data: Path) -> Path:
    """2,170 real Hacker News comments in one thread (cut into partitions by size)."""
    return shared_data / "threads" / "hackernews" / "hn_25015967_biden_wins.json"


@pytest.fixture(scope="module")
def reddit_thread(shared_data: Path) -> Path:
    """492 real Reddit comments in one thread."""
    return shared_data / "threads" / "reddit" / "reddit_fo7p5b.json"


@pytest.fixture(scope="module")
def model_dirs(toxicity_model_dir: Path, sentiment_model_dir: Path) -> list[str]:
    return [str(toxicity_model_dir), str(sentiment_model_dir)]


@pytest.fixture(scope="module")
def options(model_dirs: list[str]) -> distributed.ScoreOptions:
    """Batches of one window and one torch thread: a score then depends on its text alone,
    not on which texts share its batch (that moves scores by ~1e-7, see the tolerance test),
    so the cluster's results must be bit-identical to the in-process ones."""
    return distributed.ScoreOptions(model_dirs=model_dirs, precision="float32", batch_size=1, num_threads=1)


@pytest.fixture(scope="module")
def in_process(model_dirs: list[str]) -> Iterator[Scorer]:
    """The reference: the in-process Scorer that ``analyzer score`` uses, batched like ``options``."""
    import torch

    threads = torch.get_num_threads()
    yield Scorer([Classifier.from_pretrained(d, device="cpu") for d in model_dirs], batch_size=1, num_threads=1)
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0"
        ) as cluster,
        Client(cluster) as c,
    ):
        yield c


def _reference(scorer: Scorer, *paths: Path) -> list[dict[str, Any]]:
    records = [r for p in paths for t in parse_path(p) for r in t.records()]
    return list(scorer.score_records(records))


def _assert_same(expected: list[dict[str, Any]], frame: pd.DataFrame) -> None:
    """Row by row: same records in the same order, bit-identical scores, same versions."""
    assert len(frame) == len(expected)
    assert list(frame["id"]) == [r["id"] for r in expected]
    assert list(frame["thread_id"]) == [r["thread_id"] for r in expected]
    for record, row in zip(expected, frame.to_dict("records")):
        got = {label: row[label] for label in LABELS if not math.isnan(row[label])}
        assert got == record["scores"], record["id"]
        assert json.loads(row["models"]) == record["models"]
        assert bool(row["windowed"]) == record["windowed"]


# ---------------------------------------------------------------------- score_frame
def test_score_frame_matches_the_scorer(model_dirs: list[str], in_process: Scorer) -> None:
    texts = ["you are an idiot", "", "thanks, great post!", "this is a terrible awful stupid comment " * 9, None]
    df = pd.DataFrame({"id": list("abcde"), "body": texts}, index=[10, 11, 12, 13, 14])
    before = df.copy()
    out = score_frame(df, model_dirs, text_column="body", precision="float32", batch_size=1, num_threads=1)
    pd.testing.assert_frame_equal(df, before)  # the input is not modified
    assert list(out.columns) == ["id", "body", *LABELS, "models", "windowed"]
    assert list(out.index) == [10, 11, 12, 13, 14]
    expected = in_process.score_texts([t or "" for t in texts])
    for (_, row), want in zip(out.iterrows(), expected):
        assert {k: row[k] for k in LABELS if not math.isnan(row[k])} == want.scores
        assert json.loads(row["models"]) == want.models
        assert row["windowed"] == want.windowed
    assert out.loc[11, LABELS].isna().all() and out.loc[14, LABELS].isna().all()  # no text, no scores
    assert out.dtypes["toxicity"] == "float64" and out.dtypes["windowed"] == "bool"


def test_frame_scorer_and_score_frames_are_score_frame(model_dirs: list[str], in_process: Scorer) -> None:
    df = pd.DataFrame({"text": ["you are an idiot", "nice", "go away"]})
    direct = score_frame(df, model_dirs, batch_size=1)
    pd.testing.assert_frame_equal(FrameScorer(model_dirs, batch_size=1)(df), direct)
    batches = list(score_frames(iter([df.iloc[:2], df.iloc[2:]]), model_dirs, batch_size=1))
    pd.testing.assert_frame_equal(pd.concat(batches), direct)
    assert spark_columns(model_dirs) == ", ".join(f"{x} double" for x in LABELS) + ", models string, windowed boolean"


def test_auto_precision_is_int8_on_a_cpu(toxicity_model_dir: Path) -> None:
    """The default (CLI and score_frame) is the fastest precision within the quality bound."""
    from analyzer.scoring.classifier import int8_available

    clf = Classifier.from_pretrained(toxicity_model_dir, device="cpu", precision="auto")
    assert clf.precision == ("int8" if int8_available() else "float32")


# ---------------------------------------------------------------------- partitions
def test_partitions_keep_threads_whole_and_cut_only_big_ones(hn_thread: Path, reddit_thread: Path) -> None:
    threads = parse_path(reddit_thread) + parse_path(hn_thread) + parse_path(reddit_thread)
    sizes = [len(list(t.records())) for t in threads]
    assert sizes[0] < 600 < sizes[1]
    parts = distributed.partition_threads(threads, size=600)
    flat = [r for part in parts for r in part]
    expected = [(r["thread_id"], r["id"]) for t in threads for r in t.records()]
    assert [(r["thread_id"], r["id"]) for r in flat] == expected
    assert all(len(p) <= 600 for p in parts)
    # the small threads stay whole, each in a partition of its own here; the big one is cut
    assert len(parts[0]) == sizes[0] and len(parts[-1]) == sizes[2]
    assert len(parts) == 2 + math.ceil(sizes[1] / 600)
    # small threads share a partition while they fit
    assert [len(p) for p in distributed.partition_threads([threads[0], threads[2]], size=1000)] == [2 * sizes[0]]


def test_parquet_input_is_grouped_by_thread_and_keeps_its_columns(
    tmp_path: Path, options: distributed.ScoreOptions, in_process: Scorer
) -> None:
    texts = ["you are an idiot", "thanks", "go away", "nice", "i hate this", "great post"]
    src = pd.DataFrame({"thread_id": ["a", "b", "a", "c", "b", "a"], "text": texts, "likes": range(6)})
    src.to_parquet(tmp_path / "in.parquet")
    summary = distributed.score_files([tmp_path / "in.parquet"], tmp_path / "out", options, partition_size=3)
    out = distributed.read_dataset(tmp_path / "out")
    assert summary.records == 6 and summary.partitions == 2
    assert list(out["thread_id"]) == ["a", "a", "a", "b", "b", "c"]  # threads together, first-seen order
    assert list(out["likes"]) == [0, 2, 5, 1, 4, 3]
    want = {t: s.scores for t, s in zip(texts, in_process.score_texts(texts))}
    for row in out.to_dict("records"):
        assert {k: row[k] for k in LABELS} == want[row["text"]]


# ---------------------------------------------------------------------- the cluster
@pytest.mark.slow
def test_local_cluster_gives_exactly_the_in_process_scores(
    client: Any,
    tmp_path: Path,
    hn_thread: Path,
    reddit_thread: Path,
    options: distributed.ScoreOptions,
    in_process: Scorer,
) -> None:
    done: list[int] = []
    summary = distributed.score_files(
        [hn_thread, reddit_thread], tmp_path / "out", options, client=client, partition_size=400, progress=done.append
    )
    assert summary.workers == 2 and summary.errors == []
    assert summary.partitions >= 6 and sum(done) == summary.records
    frame = distributed.read_dataset(tmp_path / "out")
    _assert_same(_reference(in_process, hn_thread, reddit_thread), frame)
    # the same work done here, without a cluster, writes the same dataset
    distributed.score_files([hn_thread, reddit_thread], tmp_path / "local", options, partition_size=400)
    pd.testing.assert_frame_equal(distributed.read_dataset(tmp_path / "local"), frame)


@pytest.mark.slow
def test_score_records_on_the_cluster_equals_the_scorer(
    client: Any, reddit_thread: Path, options: distributed.ScoreOptions, in_process: Scorer
) -> None:
    records = [r for t in parse_path(reddit_thread) for r in t.records()]
    assert distributed.score_records(records, options, client=client, partition_size=150) == list(
        in_process.score_records(records)
    )


@pytest.mark.slow
def test_cluster_batching_moves_scores_by_less_than_1e5(
    client: Any, reddit_thread: Path, model_dirs: list[str]
) -> None:
    """With real batches (32 windows, padded to the longest) the scores match the
    in-process Scorer's within the bound the scoring engine promises across batchings."""
    records = [r for t in parse_path(reddit_thread) for r in t.records()]
    batched = distributed.ScoreOptions(model_dirs=model_dirs, precision="float32", batch_size=32)
    got = distributed.score_records(records, batched, client=client, partition_size=100)
    want = list(Scorer([Classifier.from_pretrained(d, device="cpu") for d in model_dirs]).score_records(records))
    assert [r["id"] for r in got] == [r["id"] for r in want]
    for a, b in zip(got, want):
        assert (a["models"], a["windowed"], a["scores"].keys()) == (b["models"], b["windowed"], b["scores"].keys())
        assert all(abs(a["scores"][k] - b["scores"][k]) < 1e-5 for k in a["scores"])


@pytest.mark.slow
def test_a_dead_worker_and_a_failing_task_are_retried(
    client: Any, tmp_path: Path, reddit_thread: Path, options: distributed.ScoreOptions, in_process: Scorer
) -> None:
    from distributed.diagnostics.plugin import WorkerPlugin

    killed, failed = tmp_path / "killed", tmp_path / "failed"

    class KillFirstScoringWorker(WorkerPlugin):
        """Kills the worker process that starts the first scoring task (os._exit: no cleanup)."""

        name = "kill-first-scoring-worker"

        def __init__(self, marker: str) -> None:
            self.marker = marker

        def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
            if finish == "executing" and "score-part" in str(key) and not os.path.exists(self.marker):
                Path(self.marker).touch()
                os._exit(1)

    class FailOnce(distributed.ScoreOptions):
        """Raises on the first partition it scores anywhere, like a transient I/O error."""

        def score(self, frame: pd.DataFrame) -> pd.DataFrame:
            if not failed.exists():
                failed.touch()
                raise RuntimeError("transient failure")
            return super().score(frame)

    flaky = FailOnce(**vars(options))
    client.register_plugin(KillFirstScoringWorker(str(killed)))
    try:
        summary = distributed.score_files(
            [reddit_thread], tmp_path / "out", flaky, client=client, partition_size=100, retries=2
        )
    finally:
        client.unregister_worker_plugin(KillFirstScoringWorker.name)
    assert killed.exists() and failed.exists()
    assert summary.errors == [] and summary.partitions > 2
    _assert_same(_reference(in_process, reddit_thread), distributed.read_dataset(tmp_path / "out"))
    client.wait_for_workers(2, timeout=120)  # the nanny brought the killed worker back


@pytest.mark.slow
def test_an_interrupted_run_resumes_from_the_score_cache(
    client: Any,
    tmp_path: Path,
    hn_thread: Path,
    reddit_thread: Path,
    options: distributed.ScoreOptions,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cached = distributed.ScoreOptions(**{**vars(options), "cache": str(tmp_path / "cache.sqlite")})
    # the "interrupted" run got through the Reddit thread only, on the cluster
    distributed.score_files([reddit_thread], tmp_path / "out", cached, client=client)
    # the re-run, here: only the Hacker News texts reach a model
    seen: list[str] = []
    original = Classifier.score

    def counting(self: Classifier, texts: Any, **kwargs: Any) -> Any:
        seen.extend(texts)
        return original(self, texts, **kwargs)

    monkeypatch.setattr(Classifier, "score", counting)
    distributed.score_files([reddit_thread, hn_thread], tmp_path / "out", cached)
    reddit_texts = {r["text"] for t in parse_path(reddit_thread) for r in t.records()}
    hn_texts = {r["text"] for t in parse_path(hn_thread) for r in t.records()}
    assert seen and set(seen) <= hn_texts and not (set(seen) & (reddit_texts - hn_texts))
    seen.clear()
    summary = distributed.score_files([reddit_thread, hn_thread], tmp_path / "out", cached)
    assert seen == [] and summary.records == len(distributed.read_dataset(tmp_path / "out"))


def test_local_cluster_is_sized_to_the_machine() -> None:
    assert distributed.local_cluster_size(cores=2, memory=16 << 30) == (2, 1)
    assert distributed.local_cluster_size(cores=16, memory=4 << 30) == (2, 8)
    assert distributed.local_cluster_size(cores=1, memory=1 << 30) == (1, 1)


def test_bad_inputs_are_reported_and_the_rest_scored(
    tmp_path: Path, reddit_thread: Path, options: distributed.ScoreOptions
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{ not json", encoding="utf-8")
    errors: list[str] = []
    summary = distributed.score_files([bad, reddit_thread], tmp_path / "out", options, on_error=errors.append)
    assert len(errors) == 1 and "bad.json" in errors[0]
    assert summary.records == sum(len(list(t.records())) for t in parse_path(reddit_thread))
    with pytest.raises(InputError, match="no such file"):
        distributed.score_files([tmp_path / "missing.json"], tmp_path / "out", options)


# ---------------------------------------------------------------------- the CLI
def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "THREAD_ANALYZER_CACHE": ""}
    return subprocess.run(
        [sys.executable, "-m", "analyzer", *args], capture_output=True, text=True, env=env, timeout=600
    )


@pytest.mark.slow
def test_cli_score_on_a_scheduler_writes_the_in_process_scores(
    client: Any, tmp_path: Path, reddit_thread: Path, model_dirs: list[str], in_process: Scorer
) -> None:
    models = [x for d in model_dirs for x in ("--model", d)]
    refused = _run("score", str(reddit_thread), *models, "--engine", "dask")
    assert refused.returncode != 0 and "--out" in refused.stderr
    done = _run(
        "score",
        str(reddit_thread),
        *models,
        "--precision",
        "float32",
        "--batch-size",
        "1",
        "--threads",
        "1",
        "--scheduler",
        client.scheduler.address,
        "--out",
        str(tmp_path / "out"),
        "--partition-size",
        "150",
    )
    assert done.returncode == 0, done.stderr
    assert "on 2 Dask worker(s)" in done.stderr
    _assert_same(_reference(in_process, reddit_thread), distributed.read_dataset(tmp_path / "out"))
    assert (tmp_path / "out" / distributed.CACHE_NAME).is_file()  # what a re-run resumes from


@pytest.mark.slow
def test_cli_ingest_on_a_scheduler_stores_what_local_ingest_stores(
    client: Any, tmp_path: Path, reddit_thread: Path, model_dirs: list[str]
) -> None:
    models = [x for d in model_dirs for x in ("--model", d)]
    local = _run("ingest", str(reddit_thread), *models, "--db", str(tmp_path / "local.db"))
    assert local.returncode == 0, local.stderr
    dask = _run(
        "ingest",
        str(reddit_thread),
        *models,
        "--db",
        str(tmp_path / "dask.db"),
        "--scheduler",
        client.scheduler.address,
    )
    assert dask.returncode == 0, dask.stderr
    for name in ("local", "dask"):
        exported = _run("export", "--db", str(tmp_path / f"{name}.db"), "--out", str(tmp_path / f"{name}.csv"))
        assert exported.returncode == 0, exported.stderr
    local_rows, dask_rows = pd.read_csv(tmp_path / "local.csv"), pd.read_csv(tmp_path / "dask.csv")
    assert len(local_rows) == 493 and list(local_rows.columns) == list(dask_rows.columns)
    # the local process scores with two torch threads, the worker with one: equal within float noise
    pd.testing.assert_frame_equal(local_rows, dask_rows, check_exact=False, rtol=0, atol=1e-6)
    assert set(LABELS) <= set(local_rows.columns) and local_rows["toxicity"].notna().sum() > 400
