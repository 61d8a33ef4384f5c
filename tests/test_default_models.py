"""The models we ship: they load offline as the defaults, their cards' validation numbers
are reproduced by ``analyzer evaluate``, and they score a real thread sensibly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MODELS = {"toxicity": REPO / "models" / "toxicity-minilm", "sentiment": REPO / "models" / "sentiment-minilm"}
MULTI = REPO / "models" / "multi-minilm"  # every label in one encoder pass (issue 13); not a default yet
PASTED = "threads/pasted/000_f069c0dac730660c.txt"


@pytest.fixture(scope="module")
def scored_page(shared_data) -> dict[str, dict]:
    """`analyzer score` with the default models (no --model) on the copied article page."""
    proc = subprocess.run(
        [sys.executable, "-m", "analyzer", "score", str(shared_data / PASTED)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    return {r["id"]: r for r in map(json.loads, proc.stdout.splitlines())}


def test_defaults_are_marked_and_small():
    from analyzer.scoring.defaults import default_model_dirs

    found = {Path(p).resolve() for p in default_model_dirs()}  # multi-minilm is not among them
    assert found == {p.resolve() for p in MODELS.values()}
    size = sum(f.stat().st_size for p in MODELS.values() for f in p.rglob("*") if f.is_file())
    assert size < 120 * 1024 * 1024


@pytest.mark.parametrize("task", ["toxicity", "sentiment"])
def test_card_documents_data_metrics_and_command(task):
    card = (MODELS[task] / "README.md").read_text()
    for section in (
        "## Labels",
        "## Data",
        "## Validation metrics",
        "## Known limits and biases",
        "## How it was trained",
    ):
        assert section in card
    meta = json.loads((MODELS[task] / "analyzer.json").read_text())
    assert meta["training"]["command"].startswith("analyzer train --task " + task)
    assert meta["default"] is True


def test_every_comment_gets_both_tasks_labels_and_versions(scored_page):
    for record in scored_page.values():
        assert set(record["scores"]) == {"toxicity", "insult", "identity_attack", "negative", "neutral", "positive"}
        assert all(v.startswith(("toxicity-minilm@", "sentiment-minilm@")) for v in record["models"].values())
        assert abs(sum(record["scores"][k] for k in ("negative", "neutral", "positive")) - 1) < 1e-4


# Pairs a person would rank the same way: (harsher comment, calmer comment).
HARSHER = [
    ("c2", "c11"),  # "Elites ... should be arrested" vs. a measured note on what the White House can do
    ("c10", "c9"),  # "illegal president Biden ... a weak leader" vs. a historical observation
    ("c8", "c16"),  # "neither he nor his puppet masters have the slightest idea" vs. policy musing
    ("c12", "c13"),  # "This 'Blackhouse'?" vs. a calm clarification
]


@pytest.mark.parametrize("harsh,calm", HARSHER)
def test_insulting_comments_score_above_calm_ones(scored_page, harsh, calm):
    assert scored_page[harsh]["scores"]["toxicity"] > scored_page[calm]["scores"]["toxicity"] + 0.1


def test_sentiment_is_sensible_on_the_page(scored_page):
    from analyzer.scoring.classifier import Classifier

    clf = Classifier.from_pretrained(MODELS["sentiment"])
    pos, neg = clf.predict(
        [
            "Thank you, this is a wonderful and helpful article!",
            "This is a disgrace, the worst government we have ever had.",
        ]
    )
    assert pos["positive"] > 0.5 > pos["negative"]
    assert neg["negative"] > 0.5 > neg["positive"]
    # the thread is an angry one: more comments lean negative than positive
    leaning = [max(("negative", "neutral", "positive"), key=r["scores"].get) for r in scored_page.values()]
    assert leaning.count("negative") > leaning.count("positive")


def prepare_data(shared_data: Path, out: Path) -> Path:
    """The validation files `make data` builds, written to ``out``."""
    script = REPO / "scripts" / "prepare_training_data.py"
    command = [sys.executable, str(script), "--data", str(shared_data / "labeled"), "--out", str(out)]
    subprocess.run(command, check=True, capture_output=True)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("task", ["toxicity", "sentiment", "multi"])
def test_evaluate_reproduces_the_cards_validation_numbers(task, shared_data, tmp_path):
    folder = MODELS.get(task, MULTI)
    prepare_data(shared_data, tmp_path / "data")
    out = tmp_path / "eval"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "analyzer",
            "evaluate",
            "--model",
            str(folder),
            "--task",
            task,
            "--data",
            str(tmp_path / "data" / f"{task}_val.csv"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "report.json").read_text())
    card = json.loads((folder / "analyzer.json").read_text())["metrics"]
    assert (out / "report.md").is_file() and (out / "reliability.png").is_file()
    if task == "toxicity":
        for label, m in card["labels"].items():
            assert report["labels"][label]["roc_auc"] == pytest.approx(m["roc_auc"], abs=1e-3)
            assert report["labels"][label]["macro_f1"] == pytest.approx(m["macro_f1"], abs=2e-3)
        assert report["bias"]["identities"]
    elif task == "multi":
        for label in ("toxicity", "insult", "identity_attack"):
            assert report["labels"][label]["roc_auc"] == pytest.approx(card["labels"][label]["roc_auc"], abs=1e-3)
            assert report["labels"][label]["macro_f1"] == pytest.approx(card["labels"][label]["macro_f1"], abs=2e-3)
        got, want = report["groups"]["sentiment"], card["groups"]["sentiment"]
        assert got["macro_recall"] == pytest.approx(want["macro_recall"], abs=1e-3)
        assert got["partial_accuracy"] == pytest.approx(want["partial_accuracy"], abs=1e-3)
        assert "| negative |" in (out / "report.md").read_text()  # the softmax classes have their own table
    else:
        assert report["macro_recall"] == pytest.approx(card["macro_recall"], abs=1e-3)
        assert report["macro_f1"] == pytest.approx(card["macro_f1"], abs=1e-3)


@pytest.mark.slow
def test_evaluate_context_reproduces_the_context_cards_numbers(shared_data, tmp_path):
    """The context model's card (its parent weight included) against `analyzer evaluate
    --context` on the with-parent validation quarter `make data` builds."""
    folder = REPO / "models" / "context-minilm"
    data = prepare_data(shared_data, tmp_path / "data")
    out = tmp_path / "eval"
    command = ["evaluate", "--context", "--model", str(MODELS["toxicity"]), "--context-model", str(folder)]
    command += ["--task", "toxicity", "--data", str(data / "context_val.csv"), "--out", str(out)]
    proc = subprocess.run(
        [sys.executable, "-m", "analyzer", *command], capture_output=True, text=True, timeout=900, cwd=REPO
    )
    assert proc.returncode == 0, proc.stderr
    got = json.loads((out / "report.json").read_text())["in_context"]["labels"]["toxicity"]
    meta = json.loads((folder / "analyzer.json").read_text())
    card = meta["metrics"]["labels"]["toxicity"]
    assert meta["parent_weight"] == 0.5 and got["threshold"] == card["threshold"]
    assert got["roc_auc"] == pytest.approx(card["roc_auc"], abs=1e-3)
    assert got["macro_f1"] == pytest.approx(card["macro_f1"], abs=2e-3)
    assert got["roc_auc"] > meta["training"]["pair_only_metrics"]["toxicity"]["roc_auc"]  # the weight helps
