"""Sentences we write ourselves for the ways identity-related abuse is misjudged.

A model trained only on tweets learns that naming a group is evidence of hate, misses hate
written without slurs ("immigrants are a plague") or as a negated positive ("I don't respect
women"), and flags counter-speech that quotes hate to condemn it. These templates give it
examples of each, with labels, in two disjoint halves: ``split="train"`` for training and
``split="val"`` for validation (other templates, other groups), so a validation score says
whether the model generalised rather than memorised a sentence frame.

Nothing here comes from a published test suite; the frames and group names are ours.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

GROUPS = {
    "train": [
        "women",
        "immigrants",
        "Muslims",
        "black people",
        "gay people",
        "trans people",
        "disabled people",
        "Mexicans",
        "Jews",
        "refugees",
        "Asians",
        "Christians",
        "Sikhs",
        "Roma people",
        "Indians",
        "Pakistanis",
        "Irish people",
        "Polish people",
        "atheists",
        "bisexual people",
        "deaf people",
        "Catholics",
    ],
    "val": ["Hindus", "Latinos", "Native Americans", "lesbians", "Africans", "Arabs", "old people", "Chinese people"],
}

# (phenomenon, toxic?, templates for train, templates for val); {g} is the group.
FRAMES: list[tuple[str, int, list[str], list[str]]] = [
    (
        "identity_neutral",
        0,
        [
            "{g} live in my neighborhood.",
            "I went to a festival organized by {g} last weekend.",
            "There are many {g} in my class at university.",
            "The article was about {g} in the workforce.",
            "My neighbours are {g} and we often have dinner together.",
            "The report counts how many {g} voted in the election.",
            "As one of the {g} in this town, I have an opinion on the new library.",
        ],
        [
            "Several {g} joined our book club this year.",
            "The documentary follows three {g} starting a business.",
            "We interviewed {g} about the new bus routes.",
            "I am one of the {g} who work at the hospital.",
        ],
    ),
    (
        "identity_positive",
        0,
        [
            "I really admire {g}.",
            "{g} have made huge contributions to this country.",
            "I love spending time with {g}.",
            "{g} deserve the same respect as everyone else.",
            "So proud of the {g} who organised the fundraiser.",
        ],
        [
            "{g} are wonderful neighbours.",
            "We should celebrate {g} and their achievements.",
            "I have so much respect for {g}.",
        ],
    ),
    (
        "negated_positive",
        1,
        [
            "I don't respect {g}.",
            "I would never trust {g}.",
            "{g} don't deserve any respect.",
            "I can't stand {g}.",
            "{g} are not welcome here and never will be.",
            "I will never treat {g} as equals.",
        ],
        [
            "I do not value {g} at all.",
            "No one should ever listen to {g}.",
            "{g} don't deserve to be treated like humans.",
        ],
    ),
    (
        "implicit_derogation",
        1,
        [
            "{g} are a plague on this country.",
            "{g} are ruining everything they touch.",
            "We need far fewer {g} around here.",
            "{g} are like rats, they just keep multiplying.",
            "{g} are parasites living off the rest of us.",
            "Honestly {g} are too stupid to run their own lives.",
            "This country was better before the {g} showed up.",
        ],
        [
            "{g} are a disease on society.",
            "{g} should go back to where they came from.",
            "{g} are vermin and should be treated that way.",
            "Everything would be fine if there were no {g}.",
        ],
    ),
    (
        "counter_speech",
        0,
        [
            'Saying "{q}" is disgusting and you should be ashamed.',
            'I reported the comment that said "{q}". That kind of bigotry has no place here.',
            'If you think "{q}", you need to meet some actual people.',
            'Stop posting things like "{q}". It is hateful and wrong.',
            'My uncle said "{q}" at dinner and I told him that was racist nonsense.',
        ],
        [
            'People who write "{q}" are spreading hate, and we should call it out.',
            'No, "{q}" is not an opinion, it is prejudice.',
            'Someone wrote "{q}" on the wall and the whole street came out to paint over it.',
        ],
    ),
]
# Hateful statements quoted by the counter-speech frames, per split.
QUOTES = {
    "train": ["{g} are a plague", "{g} are animals", "I hate {g}", "{g} should all be deported"],
    "val": ["{g} are subhuman", "{g} are a disease", "get rid of all {g}"],
}


@dataclass(frozen=True)
class Example:
    text: str
    toxic: int  # 1: toxicity and identity_attack; 0: neither
    phenomenon: str


def _cap(text: str) -> str:
    return text[0].upper() + text[1:]


def examples(split: str) -> Iterator[Example]:
    """Every frame of ``split`` with every group of ``split``."""
    groups = GROUPS[split]
    for phenomenon, toxic, train_frames, val_frames in FRAMES:
        frames = train_frames if split == "train" else val_frames
        for frame in frames:
            for g in groups:
                if "{q}" in frame:
                    for quote in QUOTES[split]:
                        yield Example(_cap(frame.format(q=quote.format(g=g))), toxic, phenomenon)
                else:
                    yield Example(_cap(frame.format(g=g)), toxic, phenomenon)


def sample(split: str, n: int, seed: int) -> list[Example]:
    """At most ``n`` examples of ``split``, balanced over phenomena."""
    rng = random.Random(seed)
    by_kind: dict[str, list[Example]] = {}
    for ex in examples(split):
        by_kind.setdefault(ex.phenomenon, []).append(ex)
    per_kind = max(1, n // len(by_kind))
    out: list[Example] = []
    for kind in sorted(by_kind):
        items = by_kind[kind]
        out.extend(rng.sample(items, min(per_kind, len(items))))
    return out
