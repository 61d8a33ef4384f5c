"""One encoder, many heads (issue 13): a multi-head folder scores exactly like separate
single-task folders cut from the same weights, and the old two-model setup still scores
with the fingerprints old stores and caches know."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest_plugins = ["conftest_models"]

REPO = Path(__file__).resolve().parent.parent
TEXTS = ["you are an idiot", "what a lovely day", "thanks, that helped a lot", "this is a long comment " * 40, ""]
GROUPS = [
    {"name": "toxicity", "labels": ["toxicity", "insult", "identity_attack"], "activation": "sigmoid"},
    {"name": "sentiment", "labels": ["negative", "neutral", "positive"], "activation": "softmax"},
]


def _cut(multi: Path, out: Path, rows: slice, labels: list[str], problem_type: str) -> Path:
    """A single-task folder with the multi-head model's encoder and the head rows ``rows``."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(multi)
    config = model.config
    config.num_labels = len(labels)
    config.id2label = dict(enumerate(labels))
    config.label2id = {lab: i for i, lab in enumerate(labels)}
    config.problem_type = problem_type
    single = AutoModelForSequenceClassification.from_config(config)
    state = model.state_dict()
    state["classifier.weight"] = state["classifier.weight"][rows].clone()
    state["classifier.bias"] = state["classifier.bias"][rows].clone()
    single.load_state_dict(state)
    with torch.no_grad():
        single.save_pretrained(out)
    AutoTokenizer.from_pretrained(multi).save_pretrained(out)
    return out


def test_multi_head_scores_equal_separate_heads_on_the_same_weights(tmp_path: Path, tiny_model) -> None:
    from analyzer.scoring.classifier import Classifier
    from analyzer.scoring.scorer import Scorer

    labels = [lab for g in GROUPS for lab in g["labels"]]
    multi = tiny_model(
        tmp_path / "multi",
        labels=labels,
        problem_type=None,
        analyzer={"task": "multi", "labels": labels, "groups": GROUPS, "max_length": 32},
    )
    tox = _cut(multi, tmp_path / "tox", slice(0, 3), labels[:3], "multi_label_classification")
    sent = _cut(multi, tmp_path / "sent", slice(3, 6), labels[3:], "single_label_classification")
    (sent / "analyzer.json").write_text(json.dumps({"task": "sentiment", "max_length": 32}))
    (tox / "analyzer.json").write_text(json.dumps({"task": "toxicity", "max_length": 32}))

    together = Scorer([Classifier.from_pretrained(multi, precision="float32")]).score_texts(TEXTS)
    apart = Scorer(
        [Classifier.from_pretrained(tox, precision="float32"), Classifier.from_pretrained(sent, precision="float32")]
    ).score_texts(TEXTS)
    for one, two in zip(together, apart):
        assert one.scores.keys() == two.scores.keys()
        for label in one.scores:
            assert one.scores[label] == pytest.approx(two.scores[label], abs=1e-5), label
        assert one.windowed == two.windowed
    assert together[3].windowed  # the long text was windowed by both
    sentiment = together[0].scores
    assert sum(sentiment[k] for k in ("negative", "neutral", "positive")) == pytest.approx(1.0, abs=1e-5)


def test_the_old_two_model_setup_still_scores() -> None:
    """The round-1 defaults, named explicitly, score every label with their old fingerprints
    (so the scores stored and cached under them stay valid)."""
    from analyzer.scoring.classifier import Classifier
    from analyzer.scoring.scorer import Scorer

    old = [Classifier.from_pretrained(REPO / "models" / name) for name in ("toxicity-minilm", "sentiment-minilm")]
    assert [c.version for c in old] == ["toxicity-minilm@17acd76f022220fc", "sentiment-minilm@01f99d2b2375529d"]
    result = Scorer(old).score_texts(["you are an idiot", "what a lovely day"])
    assert set(result[0].scores) == {"toxicity", "insult", "identity_attack", "negative", "neutral", "positive"}
    assert result[0].scores["toxicity"] > 0.5 > result[1].scores["toxicity"]
    assert result[1].scores["positive"] > result[1].scores["negative"]
