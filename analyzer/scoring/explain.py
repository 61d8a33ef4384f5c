"""Which words of a text drive a label's score: integrated gradients or occlusion.

Attributions come per whitespace word of the original text, in order, so the dashboard
and the service can highlight exactly what a person sees (positive pushes the score up).
Captum is an optional extra (``thread-analyzer[explain]``); occlusion needs nothing.
"""

from __future__ import annotations

import bisect
import re
from typing import TYPE_CHECKING

from analyzer.errors import MissingExtra, ModelError
from analyzer.text import without_lone_surrogates

if TYPE_CHECKING:
    import torch

    from analyzer.scoring.classifier import Classifier

Words = list[tuple[str, int, int]]  # (word, start, end) character offsets


def explain(
    clf: Classifier, text: str, label: str, *, method: str = "integrated_gradients", n_steps: int = 32
) -> list[tuple[str, float]]:
    """Per-word contributions to ``label``'s score for ``text`` (see the module docstring).
    ``method``: "integrated_gradients" (on the input embeddings, token attributions summed
    per word) or "occlusion" (the score drop without the word)."""
    if label not in clf.labels:
        raise ModelError(f"model {clf.name} has no label {label!r}; it provides {', '.join(clf.labels)}")
    text = without_lone_surrogates(text)
    words = [(m.group(), m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    if not words:
        return []
    if method == "occlusion":
        return _occlusion(clf, text, words, label)
    if method != "integrated_gradients":
        raise ValueError(f"unknown explanation method {method!r}; use integrated_gradients or occlusion")
    try:
        enc = clf.tokenizer(clf.normalize(text), add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    except (NotImplementedError, ValueError):  # tokenizers without offsets
        return _occlusion(clf, text, words, label)
    ids, offsets = list(enc["input_ids"]), list(enc["offset_mapping"])
    token_scores = _token_attributions(clf, ids, clf.output_labels.index(label), n_steps)
    starts = [start for _, start, _ in words]
    totals = [0.0] * len(words)
    for (start, end), value in zip(offsets, token_scores):
        if end <= start:
            continue
        w = bisect.bisect_right(starts, start) - 1
        if 0 <= w < len(words):
            totals[w] += value
    return [(word, float(total)) for (word, _, _), total in zip(words, totals)]


def _token_attributions(clf: Classifier, ids: list[int], target: int, n_steps: int) -> list[float]:
    """Integrated gradients per token, averaged where windows overlap."""
    import torch

    try:
        from captum.attr import LayerIntegratedGradients
    except ImportError:
        raise MissingExtra("explain", "explanations (Captum)") from None

    prefix, suffix = clf.special_tokens()
    pad = clf.tokenizer.pad_token_id if clf.tokenizer.pad_token_id is not None else 0

    def forward(input_ids: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
        logits = clf.model(input_ids=input_ids, attention_mask=attention).logits.float()
        return clf.activate(logits)[:, target]

    lig = LayerIntegratedGradients(forward, clf.model.get_input_embeddings())
    sums = [0.0] * len(ids)
    counts = [0] * len(ids)
    device = clf.device
    for start, end in clf.window_spans(len(ids)):
        window = ids[start:end]
        inputs = torch.tensor([prefix + window + suffix], dtype=torch.long, device=device)
        baseline = torch.tensor([prefix + [pad] * len(window) + suffix], dtype=torch.long, device=device)
        with torch.enable_grad():
            attr = lig.attribute(
                inputs,
                baselines=baseline,
                additional_forward_args=(torch.ones_like(inputs),),
                n_steps=n_steps,
                internal_batch_size=n_steps,
            )
        values = attr.sum(dim=-1)[0].detach().cpu().tolist()[len(prefix) : len(prefix) + len(window)]
        for k, value in enumerate(values):
            sums[start + k] += value
            counts[start + k] += 1
    return [s / c if c else 0.0 for s, c in zip(sums, counts)]


def _occlusion(clf: Classifier, text: str, words: Words, label: str) -> list[tuple[str, float]]:
    variants = [text] + [text[:start] + text[end:] for _, start, end in words]
    scores = clf.predict(variants)
    full = scores[0][label]
    return [(word, float(full - s[label])) for (word, _, _), s in zip(words, scores[1:])]
