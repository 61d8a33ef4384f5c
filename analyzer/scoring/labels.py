"""One label vocabulary for every model, so scores from different authors line up.

Models name their outputs in many ways (``toxic``, ``identity_hate``, ``LABEL_2``...).
Everything is mapped onto the canonical names below; a label that cannot be mapped is
an error rather than a guess. ``LABEL_0``-style names carry no meaning by themselves,
so they map only through the model's own ``label_aliases`` (in its ``analyzer.json``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from analyzer.errors import ModelError

TOXICITY_LABELS: tuple[str, ...] = (
    "toxicity",
    "severe_toxicity",
    "obscene",
    "threat",
    "insult",
    "identity_attack",
    "sexual_explicit",
)
SENTIMENT_LABELS: tuple[str, ...] = ("negative", "neutral", "positive")
CANONICAL_LABELS: tuple[str, ...] = TOXICITY_LABELS + SENTIMENT_LABELS
# The decision threshold of a label whose model card sets none: the one home of "0.5".
DEFAULT_THRESHOLD = 0.5

# Keys are normalised with ``_key``. A value of None means "the complement class of a
# binary model" (e.g. ``non_toxic``): a real output, but not a score worth reporting.
ALIASES: dict[str, str | None] = {
    # toxicity
    "toxic": "toxicity",
    "toxicity": "toxicity",
    "offensive": "toxicity",
    "abusive": "toxicity",
    "severe_toxic": "severe_toxicity",
    "severe_toxicity": "severe_toxicity",
    "very_toxic": "severe_toxicity",
    "obscene": "obscene",
    "obscenity": "obscene",
    "profanity": "obscene",
    "threat": "threat",
    "threatening": "threat",
    "insult": "insult",
    "insulting": "insult",
    "identity_hate": "identity_attack",
    "identity_attack": "identity_attack",
    "hate": "identity_attack",
    "hateful": "identity_attack",
    "sexual_explicit": "sexual_explicit",
    "sexually_explicit": "sexual_explicit",
    # complements of binary toxicity models
    "non_toxic": None,
    "not_toxic": None,
    "nontoxic": None,
    "non_offensive": None,
    "not_offensive": None,
    "non_hate": None,
    "not_hate": None,
    # sentiment
    "negative": "negative",
    "neg": "negative",
    "neutral": "neutral",
    "neu": "neutral",
    "positive": "positive",
    "pos": "positive",
}

_GENERIC = re.compile(r"^label_?\d+$")


def _key(raw: str) -> str:
    """Case, spaces and hyphens vary between model authors; compare without them."""
    return re.sub(r"[\s\-]+", "_", raw.strip().lower())


def task_of(label: str) -> str:
    """The task a canonical label belongs to: "toxicity" or "sentiment"."""
    if label in TOXICITY_LABELS:
        return "toxicity"
    if label in SENTIMENT_LABELS:
        return "sentiment"
    raise ValueError(f"not a canonical label: {label!r}")


def canonical_label(raw: str, aliases: Mapping[str, str | None] | None = None) -> str | None:
    """Map a model's raw label name to a canonical label.

    The model's own ``aliases`` come first (exact name, then normalised), then the
    global table. Returns None for a complement class that should not be reported.
    Raises ModelError for anything that cannot be mapped, naming the label.
    """
    own = dict(aliases or {})
    own_norm = {_key(k): v for k, v in own.items()}
    for table, key in ((own, raw), (own_norm, _key(raw))):
        if key in table:
            target = table[key]
            if target is None:
                return None
            mapped = _key(str(target))
            if mapped in CANONICAL_LABELS:
                return mapped
            if mapped in ALIASES and ALIASES[mapped] is not None:
                return ALIASES[mapped]
            raise ModelError(
                f"label alias {raw!r} -> {target!r} is not a known label; use one of {', '.join(CANONICAL_LABELS)}"
            )
    key = _key(raw)
    if _GENERIC.match(key):
        raise ModelError(
            f"model label {raw!r} has no meaning by itself; map it in the model's "
            f'analyzer.json "label_aliases" (e.g. {{"{raw}": "toxicity"}})'
        )
    if key in ALIASES:
        return ALIASES[key]
    raise ModelError(
        f'unknown model label {raw!r}; map it in the model\'s analyzer.json "label_aliases" '
        f"to one of {', '.join(CANONICAL_LABELS)}"
    )
