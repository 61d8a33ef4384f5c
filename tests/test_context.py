"""Context-aware scores (issue 16), on tiny pair models built in the test: the pair model
sees the parent, windows never cut the reply, the cache keys on the parent too, and a
top-level comment is read with its post."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest_plugins = ["conftest_models"]

LABELS = ["toxic", "insult"]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory):
    from conftest_models import make_tiny_model

    from analyzer.scoring.classifier import Classifier

    root = tmp_path_factory.mktemp("ctx")
    plain = make_tiny_model(root / "plain", labels=LABELS, problem_type="multi_label_classification", seed=1)
    pair = make_tiny_model(
        root / "pair",
        labels=LABELS,
        problem_type="multi_label_classification",
        analyzer={"task": "toxicity", "context": "parent", "max_length": 48},
        seed=2,
    )
    return Classifier.from_pretrained(plain), Classifier.from_pretrained(pair)


def records(parent_text: str, reply: str = "you first") -> list[dict]:
    return [
        {"thread_id": "t", "id": "p", "kind": "comment", "parent_id": None, "text": parent_text, "extra": {}},
        {"thread_id": "t", "id": "r", "kind": "comment", "parent_id": "p", "text": reply, "extra": {}},
    ]


def test_only_context_scores_see_the_parent(models) -> None:
    from analyzer.scoring.scorer import Scorer

    plain, pair = models
    assert pair.context == "parent" and plain.context is None
    scorer = Scorer([plain, pair])
    a = list(scorer.score_records(records("what a lovely idea, thank you")))
    b = list(scorer.score_records(records("go away you stupid idiot")))
    assert a[1]["scores"] == pytest.approx(
        b[1]["scores"], abs=1e-6
    )  # context-free: the parent changes nothing (batch noise aside)
    assert a[1]["context_scores"] != b[1]["context_scores"]  # in context it does
    assert set(a[1]["context_scores"]) == {"toxicity", "insult"}
    assert all(v.startswith("pair@") for v in a[1]["context_models"].values())
    assert "context_scores" not in a[0]  # a top-level comment without a post has no context
    assert scorer.labels == ["toxicity", "insult"] and scorer.context_labels == ["toxicity", "insult"]


def test_windows_never_cut_the_reply(models) -> None:
    from analyzer.scoring.pairs import pair_template, pair_windows

    _, pair = models
    tok = pair.tokenizer
    template = pair_template(tok)
    parent = pair.encode(["a long parent comment " * 30])[0]
    for reply_text in ("short reply", "a much longer reply that goes on " * 12):
        reply = pair.encode([reply_text])[0]
        windows = pair_windows(template, parent, reply, pair.max_length)
        covered: list[int] = []
        for ids, types, n in windows:
            assert len(ids) <= pair.max_length and len(types) == len(ids)
            second = [t for t, ty in zip(ids, types) if ty == 1][:-1]  # the reply part, less its [SEP]
            assert len(second) == n
            covered.extend(second)
        assert set(reply) <= set(covered)  # every reply token is read
        first = windows[0]
        assert [t for t, ty in zip(first[0], first[1]) if ty == 1][:-1] == reply[: first[2]]  # in order, from the start
        if len(windows) == 1:
            assert first[2] == len(reply)  # a reply that fits is whole; the parent was cut instead
    long_reply = pair.encode(["word " * 200])[0]
    windows = pair_windows(template, parent, long_reply, pair.max_length)
    assert len(windows) > 1 and all(ids.count(tok.sep_token_id) == 2 for ids, _, _ in windows)


def test_cache_keys_include_the_parent(models) -> None:
    from analyzer.scoring.cache import ScoreCache
    from analyzer.scoring.scorer import Scorer

    _, pair = models
    cache = ScoreCache(None)
    scorer = Scorer([pair], cache=cache)
    first = scorer.score_pairs([("you are great", "you first"), ("you are awful", "you first")])
    assert cache.misses == 2 and cache.hits == 0
    again = scorer.score_pairs([("you are great", "you first")])
    assert cache.hits == 1 and again[0].scores == first[0].scores
    assert first[0].scores != first[1].scores


def test_top_level_comments_are_read_with_the_post(models) -> None:
    from analyzer.scoring.scorer import Scorer

    _, pair = models
    scorer = Scorer([pair])
    recs = [
        {
            "thread_id": "t",
            "id": "post",
            "kind": "post",
            "parent_id": None,
            "text": "Body of the story",
            "extra": {"title": "Big news"},
        },
        {"thread_id": "t", "id": "c1", "kind": "comment", "parent_id": "post", "text": "you first", "extra": {}},
        {"thread_id": "t", "id": "c2", "kind": "comment", "parent_id": "c1", "text": "no, you", "extra": {}},
    ]
    out = list(scorer.score_records(recs))
    assert "context_scores" not in out[0]
    expected = scorer.score_pairs([("Big news\nBody of the story", "you first"), ("you first", "no, you")])
    assert out[1]["context_scores"] == pytest.approx(expected[0].scores, abs=1e-5)
    assert out[2]["context_scores"] == pytest.approx(expected[1].scores, abs=1e-5)


def test_pair_model_round_trips_its_context_flag(models, tmp_path: Path) -> None:
    from analyzer.scoring.classifier import Classifier

    _, pair = models
    saved = pair.save_pretrained(tmp_path / "copy")
    assert json.loads((saved / "analyzer.json").read_text())["context"] == "parent"
    assert Classifier.from_pretrained(saved).context == "parent"


def test_parent_weight_adds_the_parents_own_logit(models, tmp_path: Path) -> None:
    """``parent_weight`` w: a pair scores sigmoid(logit(pair) + w * logit(parent read alone)),
    for toxicity attributes; an empty parent is left as read; the fingerprint changes."""
    import math

    from conftest_models import make_tiny_model

    from analyzer.scoring.classifier import Classifier

    _, pair = models
    folder = make_tiny_model(
        tmp_path / "weighted",
        labels=LABELS,
        problem_type="multi_label_classification",
        analyzer={"task": "toxicity", "context": "parent", "max_length": 48, "parent_weight": 0.5},
        seed=2,  # the same weights as the unweighted pair model
    )
    weighted = Classifier.from_pretrained(folder)
    assert weighted.fingerprint != pair.fingerprint
    logit = lambda p: math.log(p / (1 - p))  # noqa: E731
    parent, reply = "go away you stupid idiot", "you first"
    (read, _), (blank, _) = pair.score_pairs([(parent, reply), ("", reply)])
    ((alone, _),) = pair.score_pairs([("", parent)])
    (got, _), (got_blank, _) = weighted.score_pairs([(parent, reply), ("", reply)])
    for label in ("toxicity", "insult"):
        expected = 1 / (1 + math.exp(-(logit(read[label]) + 0.5 * logit(alone[label]))))
        assert got[label] == pytest.approx(expected, abs=1e-5)
    assert got_blank == pytest.approx(blank, abs=1e-6)
    saved = weighted.save_pretrained(tmp_path / "copy")
    assert json.loads((saved / "analyzer.json").read_text())["parent_weight"] == 0.5


def test_a_zero_parent_weight_round_trips(tmp_path: Path) -> None:
    """An explicit 0 is kept on save, as the file had it (the fingerprint hashes the field)."""
    from conftest_models import make_tiny_model

    from analyzer.scoring.classifier import Classifier

    analyzer = {"task": "toxicity", "context": "parent", "max_length": 48, "parent_weight": 0}
    folder = make_tiny_model(
        tmp_path / "zero", labels=LABELS, problem_type="multi_label_classification", analyzer=analyzer, seed=2
    )
    clf = Classifier.from_pretrained(folder)
    saved = clf.save_pretrained(tmp_path / "copy")
    assert json.loads((saved / "analyzer.json").read_text())["parent_weight"] == 0
    assert Classifier.from_pretrained(saved).config.parent_weight == 0


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"parent_weight": 0.5}, 'needs "context": "parent"'),
        ({"context": "parent", "parent_weight": "high"}, "number from 0 to 4"),
        ({"context": "parent", "parent_weight": -1}, "number from 0 to 4"),
    ],
)
def test_parent_weight_is_checked(fields: dict, message: str) -> None:
    from analyzer.errors import ModelError
    from analyzer.scoring.config import ModelConfig

    with pytest.raises(ModelError, match=message) as err:
        ModelConfig.from_dict({"task": "toxicity", **fields}, "models/x/analyzer.json")
    assert "models/x/analyzer.json" in str(err.value)


def test_train_context_model_from_parent_column(tmp_path: Path) -> None:
    """`analyzer train --context parent` on a slice of the with-parent Wikipedia set: the folder
    declares its context and the scorer reads pairs with it."""
    import subprocess
    import sys

    import pandas as pd

    from analyzer.scoring.classifier import Classifier
    from analyzer.scoring.scorer import Scorer

    src = (
        Path(__file__).resolve().parents[1]
        / ".."
        / "shared"
        / "data"
        / "labeled"
        / "toxicity"
        / "wiki_talk_with_parent_gc.csv"
    )
    df = pd.read_csv(src)
    rows = pd.concat([df[df["label"] == 1].head(30), df[df["label"] == 0].head(90)]).sample(frac=1, random_state=0)
    table = pd.DataFrame({"text": rows["text"], "parent": rows["parent"], "toxicity": rows["label"]})
    table.iloc[:80].to_csv(tmp_path / "train.csv", index=False)
    table.iloc[80:].to_csv(tmp_path / "val.csv", index=False)
    out = tmp_path / "pair-model"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "analyzer.cli",
            "train",
            "--task",
            "toxicity",
            "--context",
            "parent",
            "--data",
            str(tmp_path / "train.csv"),
            "--val-data",
            str(tmp_path / "val.csv"),
            "--out",
            str(out),
            "--max-steps",
            "3",
            "--batch-size",
            "8",
            "--max-length",
            "64",
            "--eval-every",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads((out / "analyzer.json").read_text())["context"] == "parent"
    clf = Classifier.from_pretrained(out)
    result = Scorer([clf]).score_pairs([("you are all idiots", "exactly, you first"), ("", "exactly, you first")])
    assert set(result[0].scores) == {"toxicity"} and result[0].scores != result[1].scores
    # the card's validation numbers are the pair model's with the parents (not the replies alone)
    from sklearn.metrics import roc_auc_score

    val = table.iloc[80:]
    paired = Scorer([clf]).score_pairs(list(zip(val["parent"], val["text"])))
    auc = roc_auc_score(val["toxicity"], [s.scores["toxicity"] for s in paired])
    card = json.loads((out / "analyzer.json").read_text())["metrics"]["labels"]["toxicity"]["roc_auc"]
    assert card == pytest.approx(auc, abs=1e-4)


def test_evaluate_context_reports_both_models(tmp_path: Path) -> None:
    """`analyzer evaluate --context` scores the reply alone with --model and (parent, reply)
    with the pair model, on the same rows, and tells a wrong pairing of models clearly."""
    import csv
    import subprocess
    import sys

    from conftest_models import make_tiny_model

    kind = "multi_label_classification"
    plain = make_tiny_model(tmp_path / "plain", labels=LABELS, problem_type=kind, seed=1)
    pair = make_tiny_model(
        tmp_path / "pair", labels=LABELS, problem_type=kind, analyzer={"task": "toxicity", "context": "parent"}, seed=2
    )
    rows = [("you first", "they should all leave", 1), ("thanks, fixed", "typo in the lead", 0)] * 6
    rows += [("exactly", "great photo of the bridge", 0), ("no parent here", "", 1)]
    data = tmp_path / "ctx.csv"
    with data.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "parent", "toxicity"])
        w.writerows(rows)
    out = tmp_path / "report"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "analyzer.cli", "evaluate", "--task", "toxicity", "--data", str(data), *args],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )

    done = run("--model", str(plain), "--context", "--context-model", str(pair), "--out", str(out))
    assert done.returncode == 0, done.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["n"] == len(rows) and report["with_parent"] == len(rows) - 1
    assert set(report["alone"]["labels"]) == set(report["in_context"]["labels"]) == {"toxicity"}
    assert report["shift"]["toxicity"]["mean"] != 0.0  # the two models really read different inputs
    assert "replies_only" in report and "toxicity" in report["shift"]
    assert "ROC-AUC in context" in done.stdout

    swapped = run("--model", str(pair), "--context", "--context-model", str(plain), "--out", str(tmp_path / "x"))
    assert swapped.returncode == 2 and "Traceback" not in swapped.stderr
    assert "reads context itself" in swapped.stderr
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("method", ["integrated_gradients", "occlusion"])
def test_pair_explanation_covers_reply_and_parent(models, method: str) -> None:
    """The in-context score is attributed to words of the reply and of the parent; a
    context-free model is refused with a clear error."""
    from analyzer.errors import ModelError
    from analyzer.scoring.explain import explain_pair

    plain, pair = models
    parent, reply = "they should all be deported tomorrow", "you first, obviously"
    p_words, r_words = explain_pair(pair, parent, reply, "toxicity", method=method, n_steps=8)
    assert [w for w, _ in p_words] == parent.split() and [w for w, _ in r_words] == reply.split()
    assert any(v != 0.0 for _, v in p_words) and any(v != 0.0 for _, v in r_words)
    # a long parent: its start falls outside the window and gets exactly 0
    long_parent = "start " * 200 + parent
    p_long, _ = explain_pair(pair, long_parent, reply, "toxicity", method="integrated_gradients", n_steps=4)
    assert p_long[0][1] == 0.0 and any(v != 0.0 for _, v in p_long[-6:])
    with pytest.raises(ModelError, match="alone"):
        explain_pair(plain, parent, reply, "toxicity")
