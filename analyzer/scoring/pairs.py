"""Model inputs for a reply read with the comment it answers: ``[CLS] parent [SEP] reply [SEP]``.

The one home of pair building, used by scoring and by training alike, so a context model
sees the same inputs in both. The parent is cut first, keeping its end (the part a reply
usually answers); the reply is never cut: a reply too long for one window is split into
overlapping windows, each with the same slice of the parent in front.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from analyzer.scoring.labels import TOXICITY_LABELS

# Tokens of every window kept for the parent when the reply alone would fill the window.
PARENT_SHARE = 1 / 3


@dataclass(frozen=True)
class PairTemplate:
    """Where a tokenizer puts its special tokens around a pair, and the token types of each
    part, found by encoding a probe pair once (tokenizers differ: BERT's ``[CLS] a [SEP] b
    [SEP]`` with types 0/1, RoBERTa's ``<s> a </s></s> b </s>`` all 0)."""

    prefix: list[int]
    middle: list[int]
    suffix: list[int]
    first_type: int
    second_type: int

    @property
    def n_special(self) -> int:
        return len(self.prefix) + len(self.middle) + len(self.suffix)

    def build(self, first: Sequence[int], second: Sequence[int]) -> tuple[list[int], list[int]]:
        ids = [*self.prefix, *first, *self.middle, *second, *self.suffix]
        n_first = len(self.prefix) + len(first) + len(self.middle)
        return ids, [self.first_type] * n_first + [self.second_type] * (len(ids) - n_first)


def pair_template(tokenizer: Any) -> PairTemplate:
    """The tokenizer's pair template (callers keep it: it costs three encodings)."""
    a = tokenizer("hello", add_special_tokens=False)["input_ids"]
    b = tokenizer("world", add_special_tokens=False)["input_ids"]
    enc = tokenizer("hello", "world", return_token_type_ids=True)
    full, types = list(enc["input_ids"]), list(enc.get("token_type_ids") or [0] * len(enc["input_ids"]))
    i = next(k for k in range(len(full)) if full[k : k + len(a)] == a)
    j = next(k for k in range(i + len(a), len(full)) if full[k : k + len(b)] == b)
    template = PairTemplate(
        prefix=full[:i],
        middle=full[i + len(a) : j],
        suffix=full[j + len(b) :],
        first_type=types[i],
        second_type=types[j],
    )
    return template


def pair_spans(
    template: PairTemplate, n_parent: int, n_reply: int, max_length: int
) -> tuple[int, list[tuple[int, int]]]:
    """How ``pair_windows`` cuts a pair: the number of parent tokens kept (its end), and the
    (start, end) reply-token span of each window."""
    budget = max(2, max_length - template.n_special)
    if n_reply + min(n_parent, int(budget * PARENT_SHARE)) <= budget:
        return min(n_parent, budget - n_reply), [(0, n_reply)]
    keep = int(budget * PARENT_SHARE)
    size = budget - keep
    step = max(1, size - size // 4)
    spans, start = [], 0
    while True:
        spans.append((start, min(start + size, n_reply)))
        if start + size >= n_reply:
            break
        start += step
    return min(n_parent, keep), spans


def pair_windows(
    template: PairTemplate, parent: Sequence[int], reply: Sequence[int], max_length: int
) -> list[tuple[list[int], list[int], int]]:
    """(input ids, token type ids, reply tokens) for each window of ``reply``, with
    ``parent`` (content ids, no special tokens) cut to fit. An empty parent gives
    ``[CLS] [SEP] reply [SEP]``, the form context-free rows take in training."""
    reply, parent = list(reply), list(parent)
    keep, spans = pair_spans(template, len(parent), len(reply), max_length)
    context = parent[len(parent) - keep :] if keep > 0 else []
    out = []
    for a, b in spans:
        part = reply[a:b]
        ids, types = template.build(context, part)
        out.append((ids, types, len(part)))
    return out


def pair_pieces(
    template: PairTemplate, parents: Sequence[Sequence[int]], replies: Sequence[Sequence[int]], max_length: int
) -> tuple[list[tuple[int, list[int], int]], list[list[int]]]:
    """Model inputs of (parent, reply) pairs of content ids, for ``Classifier.score_pieces``:
    (pair index, input ids, reply tokens) per window, and the token types of each."""
    pieces: list[tuple[int, list[int], int]] = []
    types: list[list[int]] = []
    for i, (parent, reply) in enumerate(zip(parents, replies)):
        for ids, tt, weight in pair_windows(template, parent, reply, max_length):
            pieces.append((i, ids, weight))
            types.append(tt)
    return pieces, types


Read = Callable[[Sequence[tuple[str | None, str]]], list[tuple[dict[str, float], bool]]]


def weigh_parents(
    read: Read, pairs: Sequence[tuple[str | None, str]], weight: float
) -> list[tuple[dict[str, float], bool]]:
    """``read`` (a pair model's own reading) of each pair, with ``weight`` times the logit of
    its parent read alone (as a reply with no parent; once per distinct parent) added for each
    toxicity attribute: annotators who see a hostile parent call more replies toxic, a signal a
    pair model trained on few such replies learns only in part (``parent_weight`` in
    ``analyzer.json``). A pair without a parent, and every other label, stays as read."""
    pairs = list(pairs)
    scores = read(pairs)
    if not weight:
        return scores
    parents = sorted({p for p, _ in pairs if p})
    alone = dict(zip(parents, (s for s, _ in read([("", p) for p in parents]))))
    return [(with_parent(s, alone[p], weight) if p else s, w) for (p, _), (s, w) in zip(pairs, scores)]


def with_parent(pair: dict[str, float], parent_alone: dict[str, float], weight: float) -> dict[str, float]:
    """A pair's scores with ``weight`` times the parent's own logit added (toxicity attributes)."""
    out = dict(pair)
    for label, value in pair.items():
        if label in TOXICITY_LABELS and label in parent_alone:
            out[label] = _sigmoid(_logit(value) + weight * _logit(parent_alone[label]))
    return out


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))
