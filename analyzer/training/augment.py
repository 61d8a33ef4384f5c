"""How abuse is really written: obfuscated variants of training texts.

Filters are evaded by spacing letters out ("i d i o t"), leetspeak ("1d10t"), dropped,
doubled or swapped characters and look-alike letters from other scripts. Training on such
variants (with the labels of the plain text) teaches the encoder that they mean the same.
Every function takes a ``random.Random`` so a data build is reproducible.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

LEET = {"a": "4@", "e": "3", "i": "1!", "o": "0", "s": "5$", "t": "7", "l": "1", "g": "9", "b": "8"}
# Latin letters and look-alikes from Cyrillic and Greek (what confusable-based evasion uses most).
HOMOGLYPHS = {
    "a": "\u0430\u03b1",
    "c": "\u0441",
    "e": "\u0435",
    "i": "\u0456\u03b9",
    "o": "\u043e\u03bf",
    "p": "\u0440\u03c1",
    "s": "\u0455",
    "x": "\u0445\u03c7",
    "y": "\u0443",
    "k": "\u03ba",
    "n": "\u03b7",
}
_WORD = re.compile(r"[A-Za-z]{4,}")


def _targets(text: str, rng: random.Random, share: float) -> list[re.Match[str]]:
    """The words to obfuscate: at least one, about ``share`` of the longer words."""
    words = list(_WORD.finditer(text))
    if not words:
        return []
    k = max(1, round(len(words) * share))
    return sorted(rng.sample(words, min(k, len(words))), key=lambda m: m.start())


def _rewrite(text: str, rng: random.Random, share: float, fn: Callable[[str, random.Random], str]) -> str:
    out, last = [], 0
    for m in _targets(text, rng, share):
        out.append(text[last : m.start()])
        out.append(fn(m.group(), rng))
        last = m.end()
    out.append(text[last:])
    return "".join(out)


def spaced(word: str, rng: random.Random) -> str:
    sep = rng.choice([" ", " ", ".", "-", "*"])
    return sep.join(word)


def leet(word: str, rng: random.Random) -> str:
    chars = [rng.choice(LEET[c.lower()]) if c.lower() in LEET and rng.random() < 0.6 else c for c in word]
    if chars == list(word):  # make sure something changed
        for k, c in enumerate(word):
            if c.lower() in LEET:
                chars[k] = LEET[c.lower()][0]
                break
    return "".join(chars)


def typo(word: str, rng: random.Random) -> str:
    """One dropped, doubled or swapped inner character, or a vowel masked with '*'."""
    k = rng.randrange(1, len(word) - 1)
    kind = rng.choice(["drop", "double", "swap", "mask"])
    if kind == "drop":
        return word[:k] + word[k + 1 :]
    if kind == "double":
        return word[:k] + word[k] + word[k:]
    if kind == "swap":
        return word[:k] + word[k + 1] + word[k] + word[k + 2 :]
    vowels = [j for j, c in enumerate(word) if c.lower() in "aeiou" and 0 < j < len(word) - 1] or [k]
    j = rng.choice(vowels)
    return word[:j] + "*" + word[j + 1 :]


def homoglyph(word: str, rng: random.Random) -> str:
    chars = [rng.choice(HOMOGLYPHS[c]) if c in HOMOGLYPHS and rng.random() < 0.5 else c for c in word]
    return "".join(chars)


STYLES: dict[str, Callable[[str, random.Random], str]] = {
    "spacing": spaced,
    "leet": leet,
    "typo": typo,
    "homoglyph": homoglyph,
}


def obfuscate(text: str, rng: random.Random, style: str | None = None, share: float = 0.34) -> tuple[str, str]:
    """``text`` with about a third of its longer words obfuscated in one style (random when
    None); returns (variant, style). Short texts without a 4-letter word come back unchanged."""
    name = style or rng.choice(sorted(STYLES))
    return _rewrite(text, rng, share, STYLES[name]), name
