"""Turning a reviewer's form into a verdict the store accepts (``Store.add_verdict``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

DECISIONS = ("approve", "remove", "relabel")
DECISION_HELP = {
    "approve": "fine as it is: none of the toxicity labels",
    "remove": "toxic: should come down",
    "relabel": "set the labels yourself",
}


def verdict_labels(
    decision: str, toxicity_labels: Sequence[str], checked: Iterable[str], sentiment: str | None = None
) -> dict[str, object]:
    """The ``labels`` of a verdict: for ``relabel`` every offered toxicity label as 0/1
    (checked = 1); for approve/remove only what the reviewer added (checked labels as 1
    on a removal); the sentiment class when one was chosen."""
    chosen = set(checked)
    out: dict[str, object] = {}
    if decision == "relabel":
        out.update({label: int(label in chosen) for label in toxicity_labels})
    elif decision == "remove":
        out.update({label: 1 for label in toxicity_labels if label in chosen})
    if sentiment:
        out["sentiment"] = sentiment
    return out


def relabel_problem(decision: str, checked: Iterable[str]) -> str | None:
    """Why a verdict may not be recorded as it stands, or None: a relabel with no label ticked
    would store every label as 0, which is what *approve* says; ask for a label instead."""
    if decision == "relabel" and not list(checked):
        return (
            "A relabel needs at least one label ticked; nothing was recorded. "
            "If none of the labels applies, choose approve."
        )
    return None


def describe(verdict: Mapping[str, object]) -> str:
    """One line for a stored verdict: 'remove by ana (insult=1) — note'. Plain text: show it with st.text."""
    labels = verdict.get("labels") or {}
    parts = [f"{verdict.get('decision')} by {verdict.get('reviewer')}"]
    if isinstance(labels, Mapping) and labels:
        parts.append("(" + ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) + ")")
    if verdict.get("stale"):
        parts.append("[on an earlier text]")
    line = " ".join(parts)
    if verdict.get("note"):
        line += f" — {verdict['note']}"
    return line
