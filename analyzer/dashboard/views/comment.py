"""Comment page: the text, every score, the words that drove a score (the engine's
explanation, each word escaped), the parent and the replies, past verdicts and the
reviewer's verdict controls. Where a context model read the comment with its parent, its
scores alone and in context stand side by side, beside the parent text it was read with.

The page draws at once: the explanation (seconds of integrated gradients on a CPU) runs
in a background thread (``resources.explainer``), and appears when it is ready."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from analyzer.dashboard import nav, params, resources, tree, widgets
from analyzer.dashboard.safe import highlight_html, links, links_html, md_escape, shorten, top_words
from analyzer.dashboard.verdicts import describe
from analyzer.scoring.labels import CANONICAL_LABELS, DEFAULT_THRESHOLD, TOXICITY_LABELS

MAX_REPLIES = 30
MAX_EXPLAIN_CHARS = 5000  # longer texts are explained on request only (integrated gradients costs per token)
PARENT_CHARS = 2000
REPLY_CHARS = 600
POLL_SECONDS = 1.0


def _link(thread_id: str, comment_id: str, label: str, text: str) -> None:
    st.page_link(
        nav.page("comment"),
        label=md_escape(text),
        query_params={"thread": thread_id, "comment": comment_id, "label": label},
    )


def author_link(author: str | None, thread_id: str, prefix: str = "") -> None:
    """A link to ``author`` in this thread on the Authors page (nothing for an anonymous comment)."""
    if author:
        st.page_link(
            nav.page("authors"),
            label=md_escape(prefix + shorten(author, 80)),
            query_params={"author": author, "thread": thread_id, **resources.link_thresholds()},
        )


def body(text: str) -> None:
    """The text verbatim (``st.text``: never interpreted), then its links, clickable."""
    st.text(text)
    found = links(text)
    if found:
        st.html(links_html(found))


def header(detail: dict[str, Any], thread_id: str, comment_id: str) -> None:
    author = detail["author"] or "anonymous"
    inferred = " (inferred from the page layout)" if detail["author"] and detail["author_inferred"] else ""
    when = detail["created_at"].strftime("%Y-%m-%d %H:%M UTC") if detail["created_at"] else "no time"
    st.caption(
        md_escape(
            f"{comment_id} in {thread_id} · by {author}{inferred} · {when} · depth {detail['depth']}"
            + (f" · flags: {', '.join(detail['flags'])}" if detail["flags"] else "")
        )
    )
    c = st.columns([1, 3])
    with c[0]:
        st.page_link(nav.page("thread"), label="Back to the thread", query_params={"thread": thread_id})
    if detail["author"]:
        with c[1]:
            author_link(detail["author"], thread_id, "Author: ")


def score_table(scores: dict[str, Any], labels: list[str]) -> None:
    st.subheader("Scores")
    if not scores:
        st.caption("Not scored.")
        return
    thresholds = resources.thresholds_for({k: v["threshold"] for k, v in scores.items()})
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "label": lab,
                    "score": scores[lab]["value"],
                    "threshold": thresholds.get(lab, DEFAULT_THRESHOLD),
                    "above": scores[lab]["value"] >= thresholds.get(lab, DEFAULT_THRESHOLD),
                    "model": scores[lab]["model"],
                }
                for lab in labels
            ]
        ),
        hide_index=True,
        width="stretch",
        column_config={"score": st.column_config.ProgressColumn("score", min_value=0.0, max_value=1.0, format="%.3f")},
    )


def in_context(detail: dict[str, Any], loaded: Any, comment_id: str) -> None:
    """The comment's scores alone and read with its parent, side by side, and that parent's
    text (the post's title and text for a top-level comment), verbatim."""
    from analyzer.analytics.context import label_name
    from analyzer.store.context import parent_texts

    paired = detail.get("context_scores") or {}
    if not paired:
        return
    alone = detail["scores"]
    labels = [lab for lab in CANONICAL_LABELS if lab in paired] + sorted(set(paired) - set(CANONICAL_LABELS))
    thresholds = resources.thresholds_for({k: v["threshold"] for k, v in paired.items()})
    st.subheader("Alone and in context")
    left, right = st.columns([1.2, 1])
    with left:
        rows = []
        for lab in labels:
            a = alone.get(lab, {}).get("value")
            b = paired[lab]["value"]
            t = thresholds.get(lab, DEFAULT_THRESHOLD)
            rows.append(
                {
                    "label": lab,
                    label_name("score", False): a,
                    label_name("score", True): b,
                    "difference": None if a is None else b - a,
                    "threshold": t,
                    "above in context": b >= t,
                    "model in context": paired[lab]["model"],
                }
            )
        st.dataframe(
            pd.DataFrame(rows),
            hide_index=True,
            width="stretch",
            column_config={
                label_name("score", False): st.column_config.ProgressColumn(
                    label_name("score", False), min_value=0.0, max_value=1.0, format="%.3f"
                ),
                label_name("score", True): st.column_config.ProgressColumn(
                    label_name("score", True), min_value=0.0, max_value=1.0, format="%.3f"
                ),
                "difference": st.column_config.NumberColumn(format="%+.3f"),
            },
        )
    with right:
        thread = loaded.thread
        parent = thread.parent(comment_id) if comment_id in thread else None
        who = (
            "the post (its title and text)"
            if parent is None or parent.kind == "post"
            else f"the comment it answers, by {parent.author or 'anonymous'}"
        )
        st.caption(md_escape(f"Read in context with {who}:"))
        read_with = parent_texts(thread).get(comment_id) if comment_id in thread else None
        st.text(shorten(read_with, PARENT_CHARS) if read_with else "(nothing: the model read it alone)")
    if read_with:
        explain_in_context(detail["text"], read_with, labels)


def explain_in_context(text: str, parent: str, labels: list[str]) -> None:
    """Which words of the reply and of the parent drove the in-context score (the loaded
    context model, integrated gradients over the pair it reads)."""
    models = resources.models()
    label = next((lab for lab in ("toxicity", *labels) if models.context_for(lab) is not None), None)
    if label is None or not text.strip() or len(text) + len(parent) > MAX_EXPLAIN_CHARS:
        return
    clf = models.context_for(label)
    st.subheader(f"Why the in-context {label} score")
    found = resources.explainer().result_pair(clf, label, parent, text)
    if found is None:
        wait_for_pair_explanation(clf, label, parent, text)
    elif isinstance(found, str):
        widgets.error("The in-context score could not be explained", RuntimeError(found))
    else:
        parent_words, reply_words = found
        st.caption("In the comment it answers")
        st.html(highlight_html(parent_words))
        st.caption("In the reply")
        st.html(highlight_html(reply_words))


@st.fragment(run_every=POLL_SECONDS)
def wait_for_pair_explanation(clf: Any, label: str, parent: str, text: str) -> None:
    if resources.explainer().result_pair(clf, label, parent, text, start=False) is not None:
        st.rerun(scope="app")
    st.caption("Working out which words of the reply and of its parent drove the in-context score…")


def context(loaded: Any, thread_id: str, comment_id: str, label: str) -> None:
    """The comment it answers and the replies it got (each cut at a word, with an ellipsis)."""
    thread = loaded.thread
    ctx, replies_col = st.columns(2)
    with ctx:
        st.subheader("In reply to")
        parent = thread.parent(comment_id) if comment_id in thread else None
        if parent is None:
            st.caption("The thread itself (top-level comment).")
        else:
            st.caption(md_escape(f"{parent.author or 'anonymous'} · {parent.kind}"))
            st.text(shorten(parent.text, PARENT_CHARS))
            if parent.kind == "comment":
                links_row = st.columns(2)
                with links_row[0]:
                    _link(thread_id, parent.id, label, "Open the parent")
                with links_row[1]:
                    author_link(parent.author, thread_id, "Its author: ")
    with replies_col:
        children = thread.children(comment_id) if comment_id in thread else []
        st.subheader(f"Replies ({len(children)})")
        for child in children[:MAX_REPLIES]:
            value = (loaded.scores.get(child.id) or {}).get(label)
            with st.container(border=True):
                st.caption(
                    md_escape(f"{child.author or 'anonymous'} · {label} {'—' if value is None else f'{value:.2f}'}")
                )
                st.markdown(
                    f'<div style="height:4px;background:{tree.score_colour(value)}"></div>', unsafe_allow_html=True
                )  # a colour bar only: no text from the comment
                st.text(shorten(child.text, REPLY_CHARS))
                links_row = st.columns(2)
                with links_row[0]:
                    _link(thread_id, child.id, label, f"Open reply {child.id}"[:60])
                with links_row[1]:
                    author_link(child.author, thread_id, "Its author: ")
        if len(children) > MAX_REPLIES:
            st.caption(f"… and {len(children) - MAX_REPLIES} more (see the thread page).")


def render() -> None:
    store = resources.store()
    qp = st.query_params
    thread_id, comment_id = params.get_str(qp, "thread"), params.get_str(qp, "comment")
    st.title("Comment")
    if not thread_id or not comment_id:
        st.info("Open a comment from a thread or from the review queue.")
        st.page_link(nav.page("review"), label="Review queue")
        return
    detail = store.comment(thread_id, comment_id)
    if detail is None:
        widgets.error(f"No comment {comment_id!r} in thread {thread_id!r}")
        return
    version = store.thread_updated_at(thread_id)
    loaded = resources.thread_data(resources.db_target(), thread_id, str(version))
    header(detail, thread_id, comment_id)
    body(detail["text"])

    scores = detail["scores"]
    labels = [lab for lab in CANONICAL_LABELS if lab in scores] + sorted(set(scores) - set(CANONICAL_LABELS))
    left, right = st.columns([1, 1.4])
    with left:
        score_table(scores, labels)
    with right:
        st.subheader("Why this score")
        explain(detail, scores, labels)
    in_context(detail, loaded, comment_id)
    context(loaded, thread_id, comment_id, params.get_str(qp, "label", "toxicity") or "toxicity")

    st.subheader("Verdicts")
    for v in detail["verdicts"]:
        st.text(f"{v['created_at']:%Y-%m-%d %H:%M} · {describe(v)}")
    if not detail["verdicts"]:
        st.caption("No verdict yet.")
    offered = [lab for lab in TOXICITY_LABELS if lab in scores] or ["toxicity"]
    widgets.verdict_form(store, thread_id, comment_id, labels=offered, key="comment")
    if comment_id in loaded.thread and (size := sum(1 for _ in loaded.thread.traverse(start=comment_id))) > 1:
        widgets.subthread_actions(store, thread_id, comment_id, size)
    if detail["history"]:
        with st.expander("Score history (every revision and model)"):
            st.dataframe(pd.DataFrame(detail["history"]), hide_index=True, width="stretch")


def explain(detail: dict[str, Any], scores: dict[str, Any], labels: list[str]) -> None:
    """The words that drove a score, from the loaded model that provides the label."""
    models = resources.models()
    explainers = {lab: clf for lab in labels if (clf := models.for_label(lab)) is not None}
    explainable = [lab for lab in labels if lab in explainers]
    if not explainable:
        st.caption("No loaded model provides these labels, so the score cannot be explained here.")
        return
    default = params.get_choice(
        st.query_params, "label", explainable, "toxicity" if "toxicity" in explainable else explainable[0]
    )
    widgets.init_state("cm_label", default)
    if st.session_state["cm_label"] not in explainable:
        st.session_state["cm_label"] = default
    label = widgets.choose(st.selectbox, "Label", explainable, key="cm_label")
    clf = explainers[label]
    if clf.version != scores.get(label, {}).get("model"):
        st.caption(md_escape(f"Explained by {clf.version}, which is not the model behind the stored score."))
    text = detail["text"]
    if not text.strip():
        st.caption("Empty text.")
        return
    asked = len(text) <= MAX_EXPLAIN_CHARS or st.session_state.get("cm_long") == text
    if not asked and not st.button("Explain this long comment"):
        return
    st.session_state["cm_long"] = text
    words = resources.explainer().result(clf, label, text)
    if words is None:
        wait_for_explanation(clf, label, text)
    elif isinstance(words, str):
        widgets.error("The score could not be explained", RuntimeError(words))
    else:
        show_words(words)


def show_words(words: list[tuple[str, float]]) -> None:
    st.html(highlight_html(words))
    top = top_words(words, 8)
    if top:
        st.caption("Words that pushed the score up most")
        st.dataframe(pd.DataFrame([{"word": w, "contribution": v} for w, v in top]), hide_index=True, width="stretch")


@st.fragment(run_every=POLL_SECONDS)
def wait_for_explanation(clf: Any, label: str, text: str) -> None:
    """Shown while the explanation runs; checks every second and redraws the page once it is ready."""
    if resources.explainer().result(clf, label, text, start=False) is not None:
        st.rerun(scope="app")
    st.caption("Working out which words drove the score… (it appears here in a moment)")


if __name__ == "__main__":
    render()
