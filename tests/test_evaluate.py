"""``analyzer evaluate --by COLUMN``: per-group metrics, for users' own functional suites and
bias audits, on the shipped models and a small hand-written suite."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SUITE = [  # text, functionality, toxicity, identity_attack
    ("you are a complete idiot", "insult_plain", 1, 0),
    ("u r a compl3te 1d10t", "insult_obfuscated", 1, 0),
    ("y o u  a r e  a n  i d i o t", "insult_obfuscated", 1, 0),
    ("immigrants are a plague on this country", "implicit_derogation", 1, 1),
    ("I love my neighbours, they are Muslim and very kind", "identity_positive", 0, 0),
    ("Women make up half of the engineering class this year", "identity_neutral", 0, 0),
    ("thanks for the thoughtful reply", "benign", 0, 0),
]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "analyzer.cli", "evaluate", *args],
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture()
def suite(tmp_path: Path) -> Path:
    path = tmp_path / "suite.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "functionality", "toxicity", "identity_attack"])
        w.writerows(SUITE)
    return path


@pytest.mark.parametrize(("model", "task"), [("multi-minilm", "multi"), ("toxicity-minilm", "toxicity")])
def test_metrics_per_functionality(suite: Path, tmp_path: Path, model: str, task: str) -> None:
    out = tmp_path / "report"
    r = run(
        "--model",
        str(REPO / "models" / model),
        "--data",
        str(suite),
        "--task",
        task,
        "--by",
        "functionality",
        "--no-bias",
        "--out",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    report = json.loads((out / "report.json").read_text())
    groups = report["by"]["groups"]
    assert report["by"]["column"] == "functionality"
    assert {k: v["n"] for k, v in groups.items()} == {
        "benign": 1,
        "identity_neutral": 1,
        "identity_positive": 1,
        "implicit_derogation": 1,
        "insult_obfuscated": 2,
        "insult_plain": 1,
    }
    tox = groups["insult_obfuscated"]["labels"]["toxicity"]
    assert tox["n"] == 2 and tox["positives"] == 2 and 0.0 <= tox["accuracy"] <= 1.0
    assert groups["insult_plain"]["labels"]["toxicity"]["accuracy"] == 1.0  # the plain insult is caught
    assert "## By functionality" in (out / "report.md").read_text()


def test_a_missing_group_column_is_one_line(suite: Path, tmp_path: Path) -> None:
    r = run(
        "--model",
        str(REPO / "models" / "toxicity-minilm"),
        "--data",
        str(suite),
        "--task",
        "toxicity",
        "--by",
        "target_group",
        "--out",
        str(tmp_path / "x"),
    )
    assert r.returncode == 2 and "target_group" in r.stderr and str(suite) in r.stderr and "Traceback" not in r.stderr
