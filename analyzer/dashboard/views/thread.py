"""Thread page: the reply tree coloured by a label's score, the turning point and hottest
sub-threads, charts by depth, over time and of sentiment, and the "only above threshold,
with ancestors" filter. Comment text goes to the page only escaped (``tree.tree_html``).

Where a context model read the replies with their parents, every number and colour uses
those in-context scores unless the "Read replies in context" toggle is off, and the page
says which ("toxicity (in context)" or "(alone)"); replies much more toxic in context than
alone are marked "hostile in reply to …" (the parent's author and words, escaped).

Fast on big threads: the thread, its report and its hottest sub-threads are cached per
version (its ``updated_at``) and thresholds, and the tree is drawn one page at a time."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from analyzer.analytics.context import MARGIN, context_jumps, label_name
from analyzer.analytics.results import HotSubthread, Report, TurningPoint
from analyzer.dashboard import charts, nav, params, resources, tree, widgets
from analyzer.dashboard.safe import md_escape, md_link, shorten
from analyzer.dashboard.state import FLASH
from analyzer.scoring.labels import CANONICAL_LABELS, DEFAULT_THRESHOLD, SENTIMENT_LABELS
from analyzer.thread_stats import Summary

ROOTS_PER_PAGE = 30
MAX_ROWS = 2000  # comments drawn per page at most: one giant sub-thread must not freeze the browser
ROW_BUDGET = 150  # a page ends after the sub-thread that brings it to this many comments (fast to draw)
PREVIEW = 160  # characters of a comment quoted in a table or caption (cut at a word, with an ellipsis)
JUMP_LABEL = "toxicity"  # the label whose in-context jump marks a reply
PARENT_PREVIEW = 60  # characters of the parent quoted in a "hostile in reply to" mark


def thread_labels(models: dict[str, str]) -> list[str]:
    """The labels this thread has scores for, toxicity labels first, in canonical order."""
    return [label for label in CANONICAL_LABELS if label in models] + sorted(set(models) - set(CANONICAL_LABELS))


def author_link(author: str, thread_id: str, *, prefix: str = "") -> None:
    """A link to ``author`` in this thread on the Authors page (the name escaped, cut to fit)."""
    st.page_link(
        nav.page("authors"),
        label=md_escape(prefix + shorten(author, 80)),
        query_params={"author": author, "thread": thread_id, **resources.link_thresholds()},
    )


def pick_thread() -> None:
    """No thread in the URL: offer the riskiest ones."""
    st.title("Thread")
    rows = resources.store().list_threads(limit=200)
    if not rows:
        st.info("The store has no threads yet.")
        st.page_link(nav.page("import"), label="Import a thread")
        return
    titles = {r["thread_id"]: (r["title"] or r["thread_id"]) for r in rows}
    chosen = st.selectbox("Thread (riskiest first)", list(titles), format_func=lambda t: f"{titles[t][:90]} ({t})")
    st.page_link(nav.page("thread"), label="Open", query_params={"thread": chosen})


def shown_label(loaded: Any, label: str, in_context: bool) -> str:
    """The label as the page names it: 'toxicity (in context)' / '(alone)' where a context
    model scored the thread, else just the label."""
    if not loaded.context_scores:
        return label
    return label_name(label, in_context and label in loaded.context_models)


def context_controls(loaded: Any, qp: Any) -> tuple[bool, float]:
    """Whether to read replies in context, and the margin that marks a reply (first values
    from the link); (False, MARGIN) without in-context scores, and no widgets."""
    if not loaded.context_scores:
        return False, MARGIN
    widgets.init_state("th_ctx", params.get_bool(qp, "ctx", True))
    widgets.init_state("th_margin", params.get_float(qp, "margin", MARGIN))
    c = st.columns([1.5, 1.5, 2])
    with c[0]:
        use = st.toggle(
            "Read replies in context",
            key="th_ctx",
            help="On: scores from the model that read each reply with the comment it answers "
            "(top-level comments with the post). Off: every comment scored alone.",
        )
    margin = c[1].number_input(
        "Mark replies more toxic in context by over",
        0.0,
        1.0,
        step=0.05,
        key="th_margin",
        help="Replies whose toxicity in context exceeds their toxicity alone by more than this "
        'are marked "hostile in reply to".',
    )
    return use, float(margin)


def controls(loaded: Any, qp: Any) -> dict[str, Any]:
    """The label, threshold and filter widgets (first values from the link); returns the choices."""
    use_context, margin = context_controls(loaded, qp)
    _, model_thresholds, in_context = loaded.measured(use_context=use_context)
    labels = thread_labels({**loaded.models, **(loaded.context_models if in_context else {})}) or ["toxicity"]
    default_label = "toxicity" if "toxicity" in labels else labels[0]
    thresholds = resources.thresholds_for(model_thresholds)
    widgets.init_state("th_label", params.get_choice(qp, "label", labels, default_label))
    if st.session_state["th_label"] not in labels:
        st.session_state["th_label"] = default_label
    c = st.columns([1, 1.5, 2])
    label = widgets.choose(
        c[0].selectbox,
        "Colour by",
        labels,
        key="th_label",
        format_func=lambda lab: shown_label(loaded, lab, in_context),
    )
    default_threshold = float(thresholds.get(label, DEFAULT_THRESHOLD))
    threshold_key = f"th_threshold_{label}"
    linked = params.get_str(qp, "label", default_label) == label  # the link's threshold is for its label
    widgets.init_state(
        threshold_key, params.get_float(qp, "threshold", default_threshold) if linked else default_threshold
    )
    threshold = c[1].slider(
        f"Threshold for {shown_label(loaded, label, in_context)}",
        0.0,
        1.0,
        step=0.01,
        key=threshold_key,
    )
    widgets.init_state("th_only", params.get_bool(qp, "only", False))
    with c[2]:
        st.write("")  # level with the other widgets' labels
        only = st.toggle("Only comments above the threshold, with their ancestors", key="th_only")
    return {
        "label": label,
        "threshold": threshold,
        "only": only,
        "thresholds": thresholds,
        "default_label": default_label,
        "default_threshold": default_threshold,
        "use_context": use_context,
        "in_context": in_context,
        "margin": margin,
    }


def scores_caption(loaded: Any, in_context: bool) -> None:
    """Which scores the numbers below come from."""
    if in_context:
        labels = ", ".join(label_name(lab, True) for lab in thread_labels(loaded.context_models))
        st.caption(
            f"Measured with {labels}: each reply read with the comment it answers, top-level comments "
            "with the post; other labels alone."
        )
    elif loaded.context_scores:
        st.caption(f"Measured with every comment read alone ({label_name('toxicity', False)}).")
    else:
        st.caption("Every comment scored alone (no model here reads replies in context).")


def context_marks(loaded: Any, margin: float) -> dict[str, list[str]]:
    """'hostile in reply to <author>: <the parent's first words>' by comment id, for replies
    whose toxicity in context exceeds their toxicity alone by more than ``margin``. The marks
    are comment text: ``tree.tree_html`` escapes them."""
    marks: dict[str, list[str]] = {}
    jumps = context_jumps(loaded.thread, loaded.scores, loaded.context_scores, label=JUMP_LABEL, margin=margin)
    for cid, jump in jumps.items():
        who = "the post" if jump["parent_kind"] == "post" else (jump["parent_author"] or "anonymous")
        marks[cid] = [
            f"hostile in reply to {shorten(who, 40)}: “{shorten(jump['parent_preview'], PARENT_PREVIEW)}” "
            f"({JUMP_LABEL} {jump['alone']:.2f} alone, {jump['in_context']:.2f} in context)"
        ]
    return marks


def metrics(summary: Summary) -> None:
    """The thread's key figures (from whichever scores the report used)."""
    m = st.columns(5)
    m[0].metric("Comments", f"{summary['comments']:,}")
    m[1].metric("Authors", f"{summary['authors']:,}")
    share = summary["toxic_share"]
    m[2].metric("Share toxic", "—" if share is None else f"{share:.1%}")
    m[3].metric("Deepest reply", summary["max_depth"])
    m[4].metric("Risk", f"{summary['risk']:.2f}")


def turning_point(thread: Any, thread_id: str, turning: TurningPoint | None, label: str) -> None:
    st.subheader("Turning point")
    if not turning:
        st.caption("No comment after which the replies turn clearly more toxic than the rest.")
        return
    st.caption(
        md_escape(
            f"Comment {turning['comment_id']} by {turning['author'] or 'anonymous'} (depth {turning['depth']}): "
            f"toxic rate {turning['before_rate']:.0%} elsewhere, {turning['after_rate']:.0%} in its "
            f"{turning['replies']} replies."
        )
    )
    cid = turning["comment_id"]
    st.text(shorten(thread.get(cid).text, 600) if cid in thread else turning["preview"])
    c = st.columns(2)
    with c[0]:
        st.page_link(
            nav.page("comment"),
            label="Open the turning point",
            query_params={"thread": thread_id, "comment": cid, "label": label},
        )
    if turning["author"]:
        with c[1]:
            author_link(turning["author"], thread_id, prefix="Its author: ")


def hottest_table(thread: Any, thread_id: str, hottest: list[HotSubthread]) -> None:
    """The hottest sub-threads as a static table: every column and preview shown in full
    width. ``st.table`` renders Markdown in its cells, so every stranger's string is escaped."""
    st.subheader("Hottest sub-threads")
    if not hottest:
        st.caption("No sub-thread with toxic comments.")
        return
    rows = []
    keep = resources.link_thresholds()
    for i, h in enumerate(hottest, 1):
        cid = h["comment_id"]
        preview = shorten(" ".join(thread.get(cid).text.split()), PREVIEW) if cid in thread else h["preview"]
        rows.append(
            {
                "#": i,
                "comment": md_link(cid, tree.comment_href(thread_id, cid)),
                "author": md_link(h["author"], tree.author_href(h["author"], thread_id, keep))
                if h["author"]
                else "anonymous",
                "comments": h["comments"],
                "toxic": h["toxic"],
                "toxic rate": f"{h['rate']:.0%}",
                "preview": md_escape(preview),
            }
        )
    st.table(pd.DataFrame(rows).set_index("#"))
    st.caption("Open a sub-thread's first comment to approve or remove the whole sub-thread at once.")


def chart_tabs(report: Report) -> None:
    tabs = st.tabs(["Toxicity by depth", "Over time", "Sentiment mix"])
    with tabs[0]:
        frame = charts.depth_frame(report["toxicity_by_depth"])
        if frame.empty:
            st.caption("No comments.")
        else:
            st.altair_chart(charts.depth_chart(frame), width="stretch")
    with tabs[1]:
        over_time = report["over_time"]
        frame = charts.time_frame(over_time)
        if over_time is None or frame.empty:
            st.caption("No comment has a time.")
        else:
            bucket = over_time["bucket"]
            st.caption(f"Per {bucket}.")
            st.altair_chart(charts.time_chart(frame, bucket=bucket), width="stretch")
    with tabs[2]:
        frame = charts.sentiment_frame(report["sentiment"])
        if frame.empty:
            st.caption("No sentiment scores.")
        else:
            st.altair_chart(charts.sentiment_chart(frame), width="stretch")


def tree_section(loaded: Any, thread_id: str, choice: dict[str, Any], marks: dict[str, list[str]], qp: Any) -> int:
    """The reply tree, one page of top-level sub-threads at a time; returns the page number."""
    label, only = choice["label"], choice["only"]
    scores = loaded.measured(use_context=choice["use_context"]).scores
    rows = tree.rows_of(loaded.thread, scores, label, choice["threshold"])
    shown = tree.above_with_ancestors(rows) if only else rows
    widgets.init_state("th_page", params.get_int(qp, "p", 1, 1))
    _, pages = tree.page_of(shown, 0, ROOTS_PER_PAGE, ROW_BUDGET)
    st.session_state["th_page"] = min(st.session_state["th_page"], pages)
    head = st.columns([3, 1])
    head[0].subheader(f"Replies ({len(shown):,} of {len(rows):,} shown)")
    page_no = head[1].number_input("Page of sub-threads", 1, pages, key="th_page") if pages > 1 else 1
    visible, _ = tree.page_of(shown, page_no - 1, ROOTS_PER_PAGE, ROW_BUDGET)
    if len(visible) > MAX_ROWS:  # reading order: cutting the tail keeps every shown reply under its parent
        st.caption(
            f"Showing the first {MAX_ROWS:,} of this page's {len(visible):,} comments; "
            "raise the threshold and show only comments above it to narrow them down."
        )
        visible = visible[:MAX_ROWS]
    if label in SENTIMENT_LABELS:
        st.caption(f"Coloured by the probability of {label} sentiment.")
    if not visible:
        st.caption("No comment at or above the threshold." if only else "This thread has no comments.")
        return page_no
    keep = resources.link_thresholds()  # the author's numbers at this page's thresholds
    st.html(
        tree.tree_html(
            visible,
            label=label,
            marks=marks,
            href=lambda r: tree.comment_href(thread_id, r.id, {"label": label}),
            author_link=lambda r: tree.author_href(r.author, thread_id, keep),
        )
    )
    options = {r.id: r for r in visible}
    c1, c2 = st.columns([3, 1])
    chosen = c1.selectbox(
        "Open a comment",
        list(options),
        key="th_open",
        format_func=lambda cid: (
            f"{cid} · {options[cid].author or 'anonymous'} · "
            f"{'—' if options[cid].value is None else f'{options[cid].value:.2f}'}"
        ),
    )
    with c2:
        st.write("")
        st.page_link(
            nav.page("comment"),
            label="Open comment",
            query_params={"thread": thread_id, "comment": chosen, "label": label},
        )
    return page_no


def render() -> None:
    store = resources.store()
    qp = st.query_params
    thread_id = params.get_str(qp, "thread")
    if not thread_id:
        pick_thread()
        return
    version = store.thread_updated_at(thread_id)
    if version is None:
        widgets.error(f"No thread {thread_id!r} in the store")
        st.page_link(nav.page("overview"), label="Back to the overview")
        return
    db = resources.db_target()
    loaded = resources.thread_data(db, thread_id, str(version))
    if (flash := st.session_state.pop(FLASH, None)) is not None:
        st.success(md_escape(flash))
    title = loaded.info.get("title") or thread_id
    st.title(md_escape(title[:200]))
    st.caption(
        md_escape(f"{thread_id} · {loaded.info.get('format') or 'unknown format'} · {loaded.info.get('source') or ''}")
    )
    choice = controls(loaded, qp)
    key = tuple(sorted(choice["thresholds"].items()))
    report = resources.thread_report(db, thread_id, str(version), key, choice["use_context"])
    hottest = resources.hottest(db, thread_id, str(version), key, choice["use_context"])
    metrics(report["summary"])
    scores_caption(loaded, report["scores_used"] == "in context")
    st.page_link(
        nav.page("authors"),
        label="Who drove it: the authors of this thread",
        query_params={"thread": thread_id, **resources.link_thresholds()},
    )
    turning_point(loaded.thread, thread_id, report["turning_point"], choice["label"])
    hottest_table(loaded.thread, thread_id, hottest)
    chart_tabs(report)
    if loaded.thread.post is not None:
        with st.expander("The post: " + md_escape((loaded.thread.post.author or "anonymous")[:80]), expanded=False):
            st.text(loaded.thread.post.text)
    marks = tree.mark_map(report["turning_point"], hottest)
    for cid, extra in context_marks(loaded, choice["margin"]).items():
        marks.setdefault(cid, []).extend(extra)
    page_no = tree_section(loaded, thread_id, choice, marks, qp)
    widgets.set_params(
        {
            "thread": thread_id,
            "label": choice["label"],
            "threshold": round(choice["threshold"], 2),
            "only": choice["only"],
            "p": page_no,
            "ctx": choice["use_context"] if loaded.context_scores else None,
            "margin": round(choice["margin"], 2) if loaded.context_scores else None,
        },
        {
            "label": choice["default_label"],
            "threshold": round(choice["default_threshold"], 2),
            "only": False,
            "p": 1,
            "ctx": True,
            "margin": MARGIN,
        },
    )


if __name__ == "__main__":
    render()
