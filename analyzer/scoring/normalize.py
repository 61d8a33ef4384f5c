"""Undo the cheapest filter evasions before tokenization, without moving any character.

Look-alike letters from other scripts become the Latin letter they imitate, and digits or
symbols used as letters inside a word ("1d10t", "st@pid") become letters. Every
replacement is one character for one, so offsets into the normalized text are offsets into
the original: explanations and span scores point at what the person wrote.
A model folder opts in with ``"normalizer": "evasion-v1"`` in its ``analyzer.json``; the
same function runs in training, scoring and explanations.
"""

from __future__ import annotations

import re

NAME = "evasion-v1"
_CONFUSABLES = str.maketrans(
    {
        "\u0430": "a", "\u03b1": "a", "\u0441": "c", "\u0435": "e", "\u0456": "i", "\u03b9": "i",
        "\u043e": "o", "\u03bf": "o", "\u0440": "p", "\u03c1": "p", "\u0455": "s", "\u0445": "x",
        "\u03c7": "x", "\u0443": "y", "\u03ba": "k", "\u03b7": "n", "\u0410": "A", "\u0412": "B",
        "\u0415": "E", "\u041a": "K", "\u041c": "M", "\u041d": "H", "\u041e": "O", "\u0420": "P",
        "\u0421": "C", "\u0422": "T", "\u0425": "X",
    }
)  # fmt: skip
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})
# a word that mixes letters with digits/symbols used as letters (not a number, not "4th")
_MIXED = re.compile(r"(?<![\w@$!])(?=[\w@$!]*[A-Za-z])(?=[\w@$!]*[013457@$!][\w@$!]*[A-Za-z])[\w@$!]{3,}")


def normalize(text: str) -> str:
    """``text`` with confusable letters and in-word leetspeak replaced, same length."""
    text = text.translate(_CONFUSABLES)
    return _MIXED.sub(lambda m: m.group().translate(_LEET) if _is_leet(m.group()) else m.group(), text)


def _is_leet(word: str) -> bool:
    """Letters around the substitutes, not an ordinal or a code like 'mp3' or 'b2b'."""
    return sum(c.isalpha() for c in word) >= 2 and not re.fullmatch(r"\d+(st|nd|rd|th|s|k|m|x)", word, re.I)


NORMALIZERS = {NAME: normalize}
