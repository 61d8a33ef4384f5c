"""``analyzer score`` end to end on a small generated CSV and the tiny test models."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["conftest_models"]

ROWS = [
    # id, thread, parent, author, time, text  (the row whose id is the thread id is the post)
    ("t1", "t1", "", "op", "2024-05-01T10:00:00Z", "i love this thread"),
    ("c1", "t1", "t1", "ann", "2024-05-01T10:05:00Z", "you are an idiot"),
    ("c2", "t1", "c1", "bob", "2024-05-01T10:07:00Z", "thanks, great post!"),
    ("c3", "t1", "c1", "cat", "2024-05-01T10:09:00Z", "this is a terrible awful stupid comment " * 8),
    ("c4", "t1", "", "dan", "2024-05-01T10:10:00Z", "you are an idiot"),
]


@pytest.fixture()
def comments_csv(tmp_path: Path) -> Path:
    path = tmp_path / "comments.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "thread_id", "parent_id", "author", "created_at", "text"])
        writer.writerows(ROWS)
    return path


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    full_env = {**os.environ, "THREAD_ANALYZER_CACHE": "", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "analyzer", *args], capture_output=True, text=True, env=full_env, timeout=300
    )


@pytest.mark.slow
def test_score_cli_end_to_end(
    comments_csv: Path, toxicity_model_dir: Path, sentiment_model_dir: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache.sqlite"
    args = [
        "score",
        str(comments_csv),
        "--model",
        str(toxicity_model_dir),
        "--model",
        str(sentiment_model_dir),
        "--cache",
        str(cache),
        "--batch-size",
        "2",
        "--threads",
        "1",
    ]
    first = _run(*args)
    assert first.returncode == 0, first.stderr
    records = [json.loads(line) for line in first.stdout.splitlines()]
    assert [r["id"] for r in records] == ["t1", "c1", "c2", "c3", "c4"]
    assert records[0]["kind"] == "post"
    labels = {"toxicity", "severe_toxicity", "insult", "identity_attack", "negative", "neutral", "positive"}
    for r in records:
        assert set(r["scores"]) == labels and set(r["models"]) == labels
        assert r["models"]["toxicity"].startswith("tiny-toxicity@")
        assert r["models"]["negative"].startswith("tiny-sentiment@")
        assert {"thread_id", "parent_id", "depth", "author", "text"} <= r.keys()
    assert [r["windowed"] for r in records] == [False, False, False, True, False]
    assert records[1]["scores"] == records[4]["scores"]  # same text, same scores
    assert "scored 5 record(s)" in first.stderr
    assert "misses 8" in first.stderr  # 4 distinct texts x 2 models

    second = _run(*args)
    assert second.returncode == 0, second.stderr
    assert "misses 0" in second.stderr
    assert [json.loads(line)["scores"] for line in second.stdout.splitlines()] == [r["scores"] for r in records]


def test_score_cli_bad_model_dir(comments_csv: Path, tmp_path: Path) -> None:
    result = _run("score", str(comments_csv), "--model", str(tmp_path / "nope"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: model directory not found")
    assert result.stdout == ""


@pytest.mark.slow
def test_score_cli_bad_input_is_reported_and_others_still_scored(
    comments_csv: Path, toxicity_model_dir: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = _run("score", str(bad), str(comments_csv), "--model", str(toxicity_model_dir))
    assert result.returncode == 2
    assert "error:" in result.stderr and "bad.json" in result.stderr
    assert len(result.stdout.splitlines()) == len(ROWS)


def test_score_help_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from analyzer.cli import cli\n"
        "r = CliRunner().invoke(cli, ['score', '--help'])\n"
        "assert r.exit_code == 0 and '--model' in r.output, r.output\n"
        "print('torch' in sys.modules, 'transformers' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False False"


def test_scores_are_cached_in_the_user_cache_folder_by_default(
    comments_csv: Path, tmp_path: Path, toxicity_model_dir: Path
) -> None:
    """Defect 8 of issue 15: without --cache a second run scores nothing; --no-cache keeps no file."""
    import os

    env = {k: v for k, v in os.environ.items() if k != "THREAD_ANALYZER_CACHE"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache-home")

    def score(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "analyzer", "score", str(comments_csv), "--model", str(toxicity_model_dir), *extra],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )

    nocache = score("--no-cache")
    assert nocache.returncode == 0, nocache.stderr
    cache_file = tmp_path / "cache-home" / "thread-analyzer" / "scores.sqlite"
    assert not cache_file.exists()
    first, second = score(), score()
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert cache_file.exists()
    assert "misses 0" in second.stderr and "misses 0" not in first.stderr
    parsed = [[json.loads(line) for line in run.stdout.splitlines()] for run in (first, second)]
    assert parsed[0] == parsed[1]  # the same scores, from the cache
