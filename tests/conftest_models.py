"""Tiny randomly initialised BERT classifiers built in the test run: no download, a
few hundred kilobytes, seconds to build. Use with ``pytest_plugins = ["conftest_models"]``.
"""

from __future__ import annotations

import json
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

WORDS = [
    "the",
    "a",
    "an",
    "and",
    "or",
    "but",
    "is",
    "are",
    "was",
    "were",
    "you",
    "your",
    "i",
    "me",
    "my",
    "we",
    "they",
    "he",
    "she",
    "it",
    "this",
    "that",
    "not",
    "no",
    "yes",
    "good",
    "bad",
    "great",
    "terrible",
    "awful",
    "love",
    "hate",
    "idiot",
    "stupid",
    "nice",
    "kind",
    "thanks",
    "please",
    "go",
    "away",
    "kill",
    "threat",
    "dumb",
    "smart",
    "happy",
    "sad",
    "people",
    "thread",
    "comment",
    "reply",
    "post",
    "of",
    "to",
    "in",
    "on",
    "for",
    "with",
    "at",
    "by",
    "from",
    "about",
    "as",
    "be",
    "have",
    "do",
    "say",
]
MAX_POSITIONS = 64  # small, so windowing is cheap to trigger


def write_vocab(path: Path) -> Path:
    """A WordPiece vocabulary: specials, some whole words, and single characters (plain
    and ``##``-continued) so every ASCII word still tokenizes without [UNK]."""
    chars = string.ascii_lowercase + string.digits + string.punctuation
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *chars, *(f"##{c}" for c in chars)]
    path.write_text("\n".join(dict.fromkeys(tokens)) + "\n", encoding="utf-8")
    return path


def make_tiny_model(
    folder: Path,
    *,
    labels: list[str],
    problem_type: str | None,
    analyzer: dict[str, Any] | None = None,
    seed: int = 0,
    readme: str | None = "# tiny test model\n",
) -> Path:
    """Save a 2-layer, 32-wide BERT sequence classifier with ``labels`` as id2label."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab = write_vocab(folder / "vocab.txt")
    tokenizer = BertTokenizerFast(vocab=str(vocab), do_lower_case=True, model_max_length=MAX_POSITIONS)
    config = BertConfig(
        vocab_size=len(vocab.read_text().split()),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=MAX_POSITIONS,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        problem_type=problem_type,
        initializer_range=0.3,  # wide enough that different texts get clearly different scores
    )
    torch.manual_seed(seed)
    model = BertForSequenceClassification(config)
    model.eval()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    if analyzer is not None:
        (folder / "analyzer.json").write_text(json.dumps(analyzer, indent=2), encoding="utf-8")
    if readme is not None:
        (folder / "README.md").write_text(readme, encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def tiny_model() -> Callable[..., Path]:
    """``make_tiny_model`` as a fixture, for tests that need a model of their own."""
    return make_tiny_model


TOXICITY_RAW = ["toxic", "severe_toxic", "insult", "identity_hate"]


@pytest.fixture(scope="session")
def toxicity_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Multi-label (sigmoid) model with Jigsaw-style label names, no analyzer.json."""
    return make_tiny_model(
        tmp_path_factory.mktemp("models") / "tiny-toxicity",
        labels=TOXICITY_RAW,
        problem_type="multi_label_classification",
        analyzer=None,
    )


@pytest.fixture(scope="session")
def sentiment_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Single-label (softmax) model whose LABEL_n names map only through analyzer.json."""
    return make_tiny_model(
        tmp_path_factory.mktemp("models") / "tiny-sentiment",
        labels=["LABEL_0", "LABEL_1", "LABEL_2"],
        problem_type="single_label_classification",
        seed=1,
        analyzer={
            "name": "tiny-sentiment",
            "task": "sentiment",
            "default": True,
            "base_model": "random",
            "max_length": 32,
            "label_aliases": {"LABEL_0": "negative", "LABEL_1": "neutral", "LABEL_2": "positive"},
            "thresholds": {"negative": 0.6},
        },
    )
