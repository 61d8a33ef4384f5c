"""Review queue: comments at or above a label's threshold (highest first) or in the band
where the model is least sure (closest to the threshold first); approve or remove in one
click, or correct the labels, with a note. Verdicts go to the store and from there to
``analyzer export --verdicts-for-training`` and ``analyzer train``."""

from __future__ import annotations

import hashlib
from typing import Any

import streamlit as st

from analyzer.dashboard import nav, params, resources, tree, widgets
from analyzer.dashboard.safe import md_escape, shorten
from analyzer.errors import AnalyzerError
from analyzer.scoring.labels import TOXICITY_LABELS

MODES = {"above": "At or above the threshold", "uncertain": "Uncertain (near the threshold)"}
LIMITS = (10, 25, 50, 100)
NOTE = "rq-note-{}"


def queue_labels(store_models: list[dict[str, Any]]) -> list[str]:
    """Toxicity labels some stored model provides, in canonical order."""
    have = {label for m in store_models for label in (m.get("labels") or [])}
    return [label for label in TOXICITY_LABELS if label in have]


def item_key(thread_id: str, comment_id: str) -> str:
    """A widget key for one queued comment that stays with it as the queue moves."""
    return hashlib.sha256(f"{thread_id}\0{comment_id}".encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _quick(thread_id: str, comment_id: str, decision: str, index: str) -> None:
    """Button callback: record a one-click verdict before the page redraws (so the comment leaves the queue)."""
    name = widgets.reviewer()
    if not name:
        st.session_state["rq_message"] = (
            "error",
            "Enter your name in the sidebar first: verdicts are recorded under it.",
        )
        return
    note = str(st.session_state.get(NOTE.format(index)) or "").strip() or None
    try:
        resources.store().add_verdict(thread_id, comment_id, reviewer=name, decision=decision, note=note)
    except AnalyzerError as exc:
        st.session_state["rq_message"] = ("error", f"The verdict was not recorded: {exc}")
        return
    st.session_state["rq_message"] = ("success", f"{decision} recorded for comment {comment_id} in {thread_id}.")


KEPT = "rq_kept"  # session key: {item key: message} of comments relabelled here, kept in place
MAX_KEPT = 10


def _relabelled(thread_id: str, comment_id: str, verdict_id: int) -> None:
    """After a correction: say so at the top, and keep the comment (and its open panel) where it was."""
    message = f"Verdict {verdict_id} recorded for comment {comment_id} in {thread_id}."
    kept: dict[str, str] = st.session_state.setdefault(KEPT, {})
    kept[item_key(thread_id, comment_id)] = message
    while len(kept) > MAX_KEPT:
        kept.pop(next(iter(kept)))
    st.session_state["rq_message"] = ("success", message)


def with_kept(
    items: list[dict[str, Any]], reviewed: list[dict[str, Any]], kept: set[str], order: Any
) -> list[dict[str, Any]]:
    """The queue with the comments relabelled in this session put back in their places
    (``reviewed``: the queue including reviewed comments), so the page does not shift under the reviewer."""
    have = {item_key(i["thread_id"], i["comment_id"]) for i in items}
    back = [r for r in reviewed if (k := item_key(r["thread_id"], r["comment_id"])) in kept and k not in have]
    return sorted(items + back, key=order)


def render() -> None:
    store = resources.store()
    qp = st.query_params
    st.title("Review queue")
    labels = queue_labels(store.models())
    if not labels:
        st.info("Nothing to review: no thread has been scored for toxicity yet.")
        st.page_link(nav.page("import"), label="Import and score threads")
        return
    model_thresholds = {}
    for m in store.models():
        model_thresholds.update({k: float(v) for k, v in (m.get("thresholds") or {}).items()})
    thresholds = resources.thresholds_for(model_thresholds)

    widgets.init_state(
        "rq_label", params.get_choice(qp, "label", labels, "toxicity" if "toxicity" in labels else labels[0])
    )
    widgets.init_state("rq_mode", params.get_choice(qp, "mode", list(MODES), "above"))
    widgets.init_state("rq_band", params.get_float(qp, "band", 0.1, 0.0, 0.5))
    widgets.init_state("rq_limit", params.get_choice(qp, "n", LIMITS, 25))
    c = st.columns([1, 1.4, 1.2, 1, 0.8])
    label = c[0].selectbox("Label", labels, key="rq_label")
    mode = c[1].radio("Show", list(MODES), format_func=MODES.get, key="rq_mode")
    default_threshold = float(thresholds.get(label, 0.5))
    threshold_key = f"rq_threshold_{label}"
    linked = params.get_str(qp, "label", label) == label
    widgets.init_state(
        threshold_key, params.get_float(qp, "threshold", default_threshold) if linked else default_threshold
    )
    threshold = c[2].slider(f"Threshold for {label}", 0.0, 1.0, step=0.01, key=threshold_key)
    band = c[3].slider("Band (±)", 0.0, 0.5, step=0.01, key="rq_band", disabled=mode != "uncertain")
    limit = c[4].selectbox("Show at most", LIMITS, key="rq_limit")
    only_thread = params.get_str(qp, "thread")

    if (message := st.session_state.pop("rq_message", None)) is not None:
        kind, text = message
        (st.error if kind == "error" else st.success)(md_escape(text))
    if not widgets.reviewer():
        st.warning("Enter your name in the sidebar to record verdicts.")

    items = store.review_queue(
        label, threshold, band if mode == "uncertain" else None, limit=limit, thread_id=only_thread
    )
    kept: dict[str, str] = st.session_state.get(KEPT) or {}
    if kept:
        reviewed = store.review_queue(
            label,
            threshold,
            band if mode == "uncertain" else None,
            limit=limit + len(kept),
            thread_id=only_thread,
            include_reviewed=True,
        )
        order = (lambda r: -r["score"]) if mode == "above" else (lambda r: abs(r["score"] - threshold))
        items = with_kept(items, reviewed, set(kept), order)
    scope = f" in thread {only_thread}" if only_thread else ""
    st.caption(
        md_escape(
            f"{len(items)} comment(s) without a verdict{scope}, most urgent first; "
            f"scored by {items[0]['model'] if items else 'the newest model for this label'}."
        )
    )
    for item in items:
        i = item_key(item["thread_id"], item["comment_id"])
        with st.container(border=True):
            head = st.columns([0.5, 3, 1.2])
            head[0].markdown(
                f'<div style="background:{tree.score_colour(item["score"])};color:#fff;text-align:center;'
                f'border-radius:6px;padding:6px;font-weight:600">{item["score"]:.2f}</div>',
                unsafe_allow_html=True,
            )  # a number and a colour only
            when = item["created_at"].strftime("%Y-%m-%d %H:%M") if item["created_at"] else "no time"
            head[1].caption(
                md_escape(
                    f"{item['author'] or 'anonymous'} · {when} · depth {item['depth']} · "
                    f"thread {item['thread_id']} · comment {item['comment_id']}"
                )
            )
            with head[2]:
                st.page_link(
                    nav.page("comment"),
                    label="Open comment",
                    query_params={"thread": item["thread_id"], "comment": item["comment_id"], "label": label},
                )
                if item["author"]:
                    st.page_link(
                        nav.page("authors"),
                        label=md_escape("Author: " + shorten(item["author"], 60)),
                        query_params={
                            "author": item["author"],
                            "thread": item["thread_id"],
                            **resources.link_thresholds(),
                        },
                    )
            st.text(item["text"][:3000] + ("…" if len(item["text"]) > 3000 else ""))
            row = st.columns([3, 1, 1])
            row[0].text_input(
                "Note",
                key=NOTE.format(i),
                label_visibility="collapsed",
                placeholder="note (optional)",
                max_chars=10_000,
            )
            row[1].button(
                "Approve",
                key=f"rq-approve-{i}",
                on_click=_quick,
                width="stretch",
                args=(item["thread_id"], item["comment_id"], "approve", i),
            )
            row[2].button(
                "Remove",
                key=f"rq-remove-{i}",
                on_click=_quick,
                type="primary",
                width="stretch",
                args=(item["thread_id"], item["comment_id"], "remove", i),
            )
            if i in kept:
                st.success(md_escape(kept[i] + " Kept in its place for this session, so the queue does not shift."))
            # keyed by the comment: an open panel stays with its comment when others leave the queue
            with st.expander("Correct the labels…", key=f"rq-panel-{i}"):
                widgets.verdict_form(
                    store,
                    item["thread_id"],
                    item["comment_id"],
                    labels=labels,
                    key=f"rq-{i}",
                    on_saved=lambda vid, t=item["thread_id"], c=item["comment_id"]: _relabelled(t, c, vid),
                )
    if not items:
        st.success("The queue is empty at this threshold.")

    widgets.set_params(
        {
            "label": label,
            "mode": mode,
            "threshold": round(threshold, 2),
            "band": band,
            "n": limit,
            "thread": only_thread,
        },
        {"mode": "above", "threshold": round(default_threshold, 2), "band": 0.1, "n": 25},
    )


if __name__ == "__main__":
    render()
