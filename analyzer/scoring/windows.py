"""Texts longer than a model's maximum length, never cut silently: the overlapping token
windows they are split into, and how the windows' scores combine into the text's.

Plain functions over token ids and probability rows (no torch), so the rules that decide
what a long comment scores can be read, and tested, apart from any model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from analyzer.scoring.labels import TOXICITY_LABELS


def special_tokens(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The ids the tokenizer puts before and after a single text ([CLS] ... [SEP]
    for BERT, <s> ... </s> for RoBERTa), found by encoding a probe."""
    probe = tokenizer("hello world", add_special_tokens=False)["input_ids"]
    full = tokenizer("hello world", add_special_tokens=True)["input_ids"]
    for start in range(len(full) - len(probe) + 1):
        if full[start : start + len(probe)] == probe:
            return list(full[:start]), list(full[start + len(probe) :])
    return [], []


def window_spans(n_tokens: int, size: int) -> list[tuple[int, int]]:
    """(start, end) token offsets of windows of at most ``size`` tokens; consecutive
    windows overlap by a quarter of a window so no passage is only ever seen cut at an edge."""
    if n_tokens <= size:
        return [(0, n_tokens)]
    step = max(1, size - size // 4)
    spans: list[tuple[int, int]] = []
    start = 0
    while True:
        spans.append((start, min(start + size, n_tokens)))
        if start + size >= n_tokens:
            return spans
        start += step


def combine_windows(output_labels: Sequence[str | None], rows: list[tuple[list[float], int]]) -> dict[str, float]:
    """Canonical label -> score of a text from its windows' (probabilities, weight): max over
    windows for toxicity attributes (one toxic passage makes a toxic comment); weighted
    mean for sentiment (the overall tone). Outputs labelled None are left out."""
    total = sum(weight for _, weight in rows)
    out: dict[str, float] = {}
    for j, label in enumerate(output_labels):
        if label is None:
            continue
        if label in TOXICITY_LABELS:
            out[label] = float(max(row[j] for row, _ in rows))
        else:
            out[label] = float(sum(row[j] * weight for row, weight in rows) / total)
    return out
