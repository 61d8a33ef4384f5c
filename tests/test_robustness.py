"""How abuse is really written (issue 13), on the round-2 multi-head model: obfuscated
insults score near their plain form, and a slur quoted to condemn it scores below the same
slur used as an attack. Our own sentences, not a published functional suite."""

from __future__ import annotations

from pathlib import Path

import pytest

MODEL = Path(__file__).resolve().parent.parent / "models" / "multi-minilm"
MARGIN = 0.2  # an obfuscated insult may lose at most this much toxicity against its plain form


@pytest.fixture(scope="module")
def clf():
    from analyzer.scoring.classifier import Classifier

    return Classifier.from_pretrained(MODEL)


@pytest.mark.parametrize(
    ("plain", "obfuscated"),
    [
        ("you are an idiot", "you are an 1d10t"),  # leetspeak
        ("you are an idiot", "yоu аre аn іdiot"),  # Cyrillic look-alikes
        ("you are a moron", "you are a m0r0n"),
        ("shut up you stupid clown", "shut up you stuupid cl0wn"),  # doubled letter and a digit
    ],
)
def test_an_obfuscated_insult_scores_near_its_plain_form(clf, plain: str, obfuscated: str) -> None:
    a, b = clf.predict([plain, obfuscated])
    threshold = clf.thresholds["toxicity"]
    assert a["toxicity"] >= threshold and b["toxicity"] >= threshold
    assert a["toxicity"] - b["toxicity"] <= MARGIN


def test_spaced_out_letters_are_still_flagged(clf) -> None:
    (p,) = clf.predict(["y o u  a r e  a n  i d i o t"])
    assert p["toxicity"] >= clf.thresholds["toxicity"]


@pytest.mark.parametrize(
    ("condemned", "attack"),
    [
        ("Calling someone a faggot is disgusting and nobody should say it.", "You are a faggot."),
        ("People who call women bitches should be ashamed.", "Shut up, you stupid bitch."),
    ],
)
def test_a_quoted_and_condemned_slur_scores_below_the_attack(clf, condemned: str, attack: str) -> None:
    a, b = clf.predict([condemned, attack])
    assert a["identity_attack"] < b["identity_attack"]
