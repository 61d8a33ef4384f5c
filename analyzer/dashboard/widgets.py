"""Pieces several pages share: the sidebar, the verdict form, query-parameter-backed
widgets, and safe ways to show errors. Layout only: decisions live in the plain modules."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

import streamlit as st

from analyzer.dashboard import params, resources
from analyzer.dashboard.safe import md_escape
from analyzer.dashboard.verdicts import DECISION_HELP, DECISIONS, relabel_problem, verdict_labels
from analyzer.errors import AnalyzerError
from analyzer.scoring.labels import SENTIMENT_LABELS, TOXICITY_LABELS

REVIEWER = "reviewer"  # session key of the reviewer's name (sidebar), and its URL parameter
COOKIE = "ta_reviewer"  # a session cookie (no expiry): the name survives page opens from links and URLs
MAX_NAME = 200
RUNS = "_ta_runs"  # session key: how many script runs this session has finished
T = TypeVar("T")


def remembered_reviewer() -> str:
    """The reviewer's name for a new browser session: the link's ``?reviewer=``, else the cookie."""
    name = params.get_str(st.query_params, REVIEWER)
    return " ".join((remembered_cookie() if name is None else name).split())[:MAX_NAME]


def remembered_cookie() -> str:
    """The name in this browser's session cookie ('' without one, or outside a browser)."""
    from urllib.parse import unquote

    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # no request context (bare mode)
        return ""
    return unquote(value) if isinstance(value, str) else ""  # AppTest hands out a mock


def remember_cookie(name: str) -> None:
    """Write the name into the session cookie, so a page opened from a link (a new Streamlit
    session) still knows it. A one-pixel frame of this origin runs the script.
    The name is a stranger's string: it reaches the script only as a JSON literal with every
    ``<``, ``>`` and ``&`` escaped, so it cannot end the script or open a tag."""
    literal = json.dumps(name)
    for ch in "<>&":
        literal = literal.replace(ch, f"\\u{ord(ch):04x}")
    st.iframe(
        "<script>document.cookie = "
        f'"{COOKIE}=" + encodeURIComponent({literal}) + "; path=/; SameSite=Strict";</script>',
        height=1,
    )


def sidebar() -> None:
    """Who is reviewing, and where the data is (the models load only on pages that need them)."""
    init_state(REVIEWER, remembered_reviewer())
    with st.sidebar:
        st.text_input(
            "Your name (for verdicts)", key=REVIEWER, max_chars=MAX_NAME, help="Verdicts are recorded under this name."
        )
        st.caption("Store: " + md_escape(resources.store().url))
        if reviewer() != remembered_cookie():
            remember_cookie(reviewer())


def reviewer() -> str:
    return str(st.session_state.get(REVIEWER) or "").strip()


def run_done() -> None:
    """Mark the end of a complete script run with an invisible element carrying the run's
    number. Browser tests and the benchmark wait for it (a new number), never for time: it
    exists only once everything above it has been sent to the page."""
    import secrets

    session, count = st.session_state.get(RUNS) or (secrets.token_hex(4), 0)
    st.session_state[RUNS] = (session, count + 1)
    st.html(f'<div class="ta-run-done" data-run="{session}-{count + 1}" hidden></div>')


def init_state(key: str, value: Any) -> None:
    """Give a widget its first value (from the URL) without fighting the user afterwards."""
    if key not in st.session_state:
        st.session_state[key] = value


def choose(widget: Callable[..., object], label: str, options: Sequence[T], **kwargs: Any) -> T:
    """``widget(label, options, **kwargs)`` (a ``selectbox`` or ``radio``, of ``st`` or of a
    column), typed as the option it returns: with options and an index it returns one.
    Streamlit's stubs import ``typing.Never``, which Python 3.10 lacks, so under mypy's
    python_version 3.10 their first overload (empty options: None) matches every call."""
    return cast(T, widget(label, options, **kwargs))


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
    """Approve / remove / relabel a comment, with a note, under the sidebar's reviewer name.
    A relabel with no label ticked is refused with a warning (it would store all zeros).
    ``on_saved(verdict id)`` runs after a verdict is stored, before the page reruns."""
    toxicity = [label for label in labels if label in TOXICITY_LABELS] or ["toxicity"]
    flash_key = f"verdict-{key}-saved"
    if (saved := st.session_state.pop(flash_key, None)) is not None:
        st.success(md_escape(saved))
    with st.form(key=f"verdict-{key}", clear_on_submit=True, border=True):
        st.markdown("**Your verdict**")
        decision = choose(
            st.radio,
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
    if (problem := relabel_problem(decision, checked)) is not None:
        st.warning(problem)
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
    st.session_state[flash_key] = f"Verdict {verdict_id} recorded: {decision} by {name}."
    if on_saved is not None:
        on_saved(verdict_id)
    st.rerun()  # so everything above the form shows the new verdict


FLASH = "flash_message"  # session key: (kind, text) of the last action's outcome, shown once on the next run


def bulk_apply(targets: Sequence[tuple[str, str]], decision: str, *, with_replies: bool) -> bool:
    """Button callback body: one verdict on every target (and with ``with_replies``, on every
    reply below each), recorded as one action that can be undone. Says what happened in
    ``FLASH``; True when something was recorded."""
    from analyzer.store import review

    name = reviewer()
    if not name:
        st.session_state[FLASH] = (
            "error",
            "Enter your name in the sidebar first: verdicts are recorded under it.",
        )
        return False
    if not targets:
        st.session_state[FLASH] = ("error", "Tick the comments to act on first.")
        return False
    try:
        action, n = review.bulk_review(
            resources.store(), targets, reviewer=name, decision=decision, with_replies=with_replies
        )
    except AnalyzerError as exc:
        st.session_state[FLASH] = ("error", f"Nothing was recorded: {exc}")
        return False
    verb = "Approved" if decision == "approve" else "Removed"
    st.session_state[FLASH] = ("success", f"{verb} {n} comment(s) at once (action {action[:8]}).")
    return True


def _undo(action_id: str) -> None:
    from analyzer.store import review

    n = review.undo(resources.store(), action_id)
    st.session_state[FLASH] = ("success", f"Undone: {n} verdict(s) of action {action_id[:8]} deleted.")


def flash() -> None:
    """The outcome of the last action (a verdict, a bulk action, an undo), once."""
    if (message := st.session_state.pop(FLASH, None)) is not None:
        kind, text = message
        (st.error if kind == "error" else st.success)(md_escape(text))


def undo_button(store: Any, key: str) -> None:
    """Undo the reviewer's last bulk action (its verdicts only), when there is one."""
    from analyzer.store import review

    name = reviewer()
    last = review.last_bulk_action(store, name) if name else None
    if last is not None:
        st.button(
            f"Undo last bulk action ({last['decision']}, {last['verdicts']})",
            key=key,
            on_click=_undo,
            args=(last["action_id"],),
            help="Deletes the verdicts of your last bulk action, and only those.",
        )


def _whole_subthread(targets: Sequence[tuple[str, str]], decision: str) -> None:
    bulk_apply(targets, decision, with_replies=True)


def subthread_actions(store: Any, thread_id: str, comment_id: str, size: int) -> None:
    """Approve or remove a comment with every reply below it (``size`` comments) at once."""
    with st.container(border=True, key="subthread-bulk"):
        st.markdown(f"**This comment and its sub-thread** ({size} comment{'s' if size != 1 else ''})")
        flash()
        c = st.columns([1, 1, 2])
        target = [(thread_id, comment_id)]
        c[0].button(
            "Approve sub-thread",
            key="sub-approve",
            on_click=_whole_subthread,
            args=(target, "approve"),
        )
        c[1].button(
            "Remove sub-thread",
            key="sub-remove",
            on_click=_whole_subthread,
            args=(target, "remove"),
            type="primary",
        )
        with c[2]:
            undo_button(store, "sub-undo")
