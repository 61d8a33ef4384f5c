"""Pieces several pages share: the sidebar, the verdict form, query-parameter-backed
widgets, and safe ways to show errors. Layout only: decisions live in the plain modules."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from analyzer.dashboard import params, resources
from analyzer.dashboard.safe import md_escape
from analyzer.dashboard.verdicts import DECISION_HELP, DECISIONS, verdict_labels
from analyzer.errors import AnalyzerError
from analyzer.scoring.labels import SENTIMENT_LABELS, TOXICITY_LABELS

REVIEWER = "reviewer"  # session key of the reviewer's name (sidebar)


def sidebar() -> None:
    """Who is reviewing, and where the data is (the models load only on pages that need them)."""
    with st.sidebar:
        st.text_input(
            "Your name (for verdicts)", key=REVIEWER, max_chars=200, help="Verdicts are recorded under this name."
        )
        st.caption("Store: " + md_escape(resources.store().url))


def reviewer() -> str:
    return str(st.session_state.get(REVIEWER) or "").strip()


def init_state(key: str, value: Any) -> None:
    """Give a widget its first value (from the URL) without fighting the user afterwards."""
    if key not in st.session_state:
        st.session_state[key] = value


def set_params(values: dict[str, Any], defaults: dict[str, Any] | None = None) -> None:
    """Make the URL carry exactly these values (defaults left out), so the link can be shared."""
    wanted = params.encode(values, defaults)
    if dict(st.query_params) != wanted:
        st.query_params.from_dict(wanted)


def error(message: str, exc: BaseException | None = None) -> None:
    """An error box whose text (which may quote a file name or a comment) renders literally."""
    st.error(md_escape(message + (f": {exc}" if exc is not None else "")))


def labelled_text(label: str, text: str) -> None:
    """A caption and then the stranger's text, shown verbatim (no Markdown, no HTML)."""
    st.caption(label)
    st.text(text)


def verdict_form(
    store: Any,
    thread_id: str,
    comment_id: str,
    *,
    labels: Sequence[str],
    key: str,
    on_saved: Callable[[int], None] | None = None,
) -> None:
    """Approve / remove / relabel a comment, with a note, under the sidebar's reviewer name."""
    toxicity = [label for label in labels if label in TOXICITY_LABELS] or ["toxicity"]
    flash_key = f"verdict-{key}-saved"
    if (saved := st.session_state.pop(flash_key, None)) is not None:
        st.success(md_escape(saved))
    with st.form(key=f"verdict-{key}", clear_on_submit=True, border=True):
        st.markdown("**Your verdict**")
        decision = st.radio(
            "Decision",
            DECISIONS,
            horizontal=True,
            key=f"{key}-decision",
            format_func=lambda d: f"{d} — {DECISION_HELP[d]}",
        )
        checked = st.multiselect(
            "Labels that apply (for relabel; on remove, the kinds of toxicity)", toxicity, key=f"{key}-labels"
        )
        sentiment = st.selectbox("Sentiment (optional)", ["", *SENTIMENT_LABELS], key=f"{key}-sentiment")
        note = st.text_area("Note (optional)", key=f"{key}-note", max_chars=10_000, height=80)
        submitted = st.form_submit_button("Record verdict", type="primary")
    if not submitted:
        return
    name = reviewer()
    if not name:
        st.error("Enter your name in the sidebar first: verdicts are recorded under it.")
        return
    try:
        verdict_id = store.add_verdict(
            thread_id,
            comment_id,
            reviewer=name,
            decision=decision,
            labels=verdict_labels(decision, toxicity, checked, sentiment or None),
            note=note.strip() or None,
        )
    except AnalyzerError as exc:
        error("The verdict was not recorded", exc)
        return
    if on_saved is not None:
        on_saved(verdict_id)
    st.session_state[flash_key] = f"Verdict {verdict_id} recorded: {decision} by {name}."
    st.rerun()  # so everything above the form shows the new verdict
