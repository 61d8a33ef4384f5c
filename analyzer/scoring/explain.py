"""Which words of a text drive a label's score: integrated gradients or occlusion.

Attributions come per whitespace word of the original text, in order, so the dashboard
and the service can highlight exactly what a person sees (positive pushes the score up).
For a context model, ``explain_pair`` attributes the in-context score to the words of the
reply and of the parent it answers.
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
    words = _words(text)
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
    return _per_word(words, offsets, _token_attributions(clf, ids, clf.output_labels.index(label), n_steps))


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


def _words(text: str) -> Words:
    return [(m.group(), m.start(), m.end()) for m in re.finditer(r"\S+", text)]


def _per_word(words: Words, offsets: list[tuple[int, int]], token_scores: list[float]) -> list[tuple[str, float]]:
    """Token attributions summed per word (tokens without a span, like specials, dropped)."""
    starts = [start for _, start, _ in words]
    totals = [0.0] * len(words)
    for (start, end), value in zip(offsets, token_scores):
        if end <= start:
            continue
        w = bisect.bisect_right(starts, start) - 1
        if 0 <= w < len(words):
            totals[w] += value
    return [(word, float(total)) for (word, _, _), total in zip(words, totals)]


def explain_pair(
    clf: Classifier,
    parent: str,
    text: str,
    label: str,
    *,
    method: str = "integrated_gradients",
    n_steps: int = 32,
) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """(parent words, reply words) with their contributions to ``label``'s in-context score,
    for a model that reads (parent, reply) pairs. Parent words cut from the model's window
    (the start of a long parent) get 0: the model never saw them."""
    if clf.context != "parent":
        raise ModelError(f"model {clf.name} reads a comment alone; explain it with explain()")
    if label not in clf.labels:
        raise ModelError(f"model {clf.name} has no label {label!r}; it provides {', '.join(clf.labels)}")
    parent, text = without_lone_surrogates(parent or ""), without_lone_surrogates(text)
    p_words, r_words = _words(parent), _words(text)
    if not r_words:
        return [(w, 0.0) for w, _, _ in p_words], []
    if method == "occlusion":
        return _pair_occlusion(clf, parent, text, p_words, r_words, label)
    if method != "integrated_gradients":
        raise ValueError(f"unknown explanation method {method!r}; use integrated_gradients or occlusion")
    try:
        kw = {"add_special_tokens": False, "return_offsets_mapping": True, "verbose": False}
        p_enc = clf.tokenizer(clf.normalize(parent), **kw)
        r_enc = clf.tokenizer(clf.normalize(text), **kw)
    except (NotImplementedError, ValueError):  # tokenizers without offsets
        return _pair_occlusion(clf, parent, text, p_words, r_words, label)
    p_scores, r_scores = _pair_token_attributions(
        clf, list(p_enc["input_ids"]), list(r_enc["input_ids"]), clf.output_labels.index(label), n_steps
    )
    return (
        _per_word(p_words, list(p_enc["offset_mapping"]), p_scores),
        _per_word(r_words, list(r_enc["offset_mapping"]), r_scores),
    )


def _pair_token_attributions(
    clf: Classifier, parent: list[int], reply: list[int], target: int, n_steps: int
) -> tuple[list[float], list[float]]:
    """Integrated gradients per parent token and per reply token over the pair windows the
    scorer builds (``scoring.pairs``), reply tokens averaged where windows overlap."""
    import torch

    from analyzer.scoring.pairs import pair_spans, pair_template

    try:
        from captum.attr import LayerIntegratedGradients
    except ImportError:
        raise MissingExtra("explain", "explanations (Captum)") from None

    template = pair_template(clf.tokenizer)
    pad = clf.tokenizer.pad_token_id if clf.tokenizer.pad_token_id is not None else 0
    keep, spans = pair_spans(template, len(parent), len(reply), clf.max_length)
    context = parent[len(parent) - keep :] if keep else []

    def forward(input_ids: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
        out = clf.model(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), token_type_ids=types)
        return clf.activate(out.logits.float())[:, target]

    lig = LayerIntegratedGradients(forward, clf.model.get_input_embeddings())
    p_sums, r_sums, r_counts = [0.0] * len(parent), [0.0] * len(reply), [0] * len(reply)
    first = len(template.prefix)
    for a, b in spans:
        ids, types = template.build(context, reply[a:b])
        blank, _ = template.build([pad] * len(context), [pad] * (b - a))
        dev = clf.device
        inputs = torch.tensor([ids], dtype=torch.long, device=dev)
        with torch.enable_grad():
            attr = lig.attribute(
                inputs,
                baselines=torch.tensor([blank], dtype=torch.long, device=dev),
                additional_forward_args=(torch.tensor([types], dtype=torch.long, device=dev),),
                n_steps=n_steps,
                internal_batch_size=n_steps,
            )
        values = attr.sum(dim=-1)[0].detach().cpu().tolist()
        for k in range(len(context)):  # the same parent slice in every window: averaged
            p_sums[len(parent) - keep + k] += values[first + k] / len(spans)
        r_first = first + len(context) + len(template.middle)
        for k in range(b - a):
            r_sums[a + k] += values[r_first + k]
            r_counts[a + k] += 1
    return p_sums, [s / c if c else 0.0 for s, c in zip(r_sums, r_counts)]


def _pair_occlusion(
    clf: Classifier, parent: str, text: str, p_words: Words, r_words: Words, label: str
) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """The in-context score drop when each word of the parent, or of the reply, is left out."""
    pairs = [(parent, text)]
    pairs += [(parent[:s] + parent[e:], text) for _, s, e in p_words]
    pairs += [(parent, text[:s] + text[e:]) for _, s, e in r_words]
    scores = [entry[0][label] for entry in clf.score_pairs(pairs)]
    full, rest = scores[0], scores[1:]
    n = len(p_words)
    return (
        [(w, float(full - v)) for (w, _, _), v in zip(p_words, rest[:n])],
        [(w, float(full - v)) for (w, _, _), v in zip(r_words, rest[n:])],
    )
