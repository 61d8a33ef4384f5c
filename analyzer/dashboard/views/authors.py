"""Authors page: who drove a thread and what an author did across threads.

``?thread=T`` lists the thread's authors (comments, toxic share, replies received and given)
and its hostile exchanges (toxic replies from one author to another); ``?author=A`` shows one
author across every thread (first seen, threads, toxic share over time, the verdicts on their
comments), and with ``&thread=T`` their part in that thread first. Every author name on the
Thread, Comment and Review pages links here. Names are strangers' strings: they reach the
page through ``st.dataframe``, widget options, or ``md_escape``d labels and captions."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd
import streamlit as st

from analyzer.analytics import author_stats
from analyzer.dashboard import charts, nav, params, resources, widgets
from analyzer.dashboard.safe import md_escape, shorten

NAME_CHARS = 120  # an author's name as shown in a title or a link label
LIST_LIMIT = 200


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _day(value: Any) -> str:
    return value.strftime("%Y-%m-%d") if value is not None else "—"


def author_link(author: str, thread_id: str | None = None, *, label: str | None = None) -> None:
    """A link to ``author`` on this page (in ``thread_id`` when given), carrying tuned thresholds."""
    query = {"author": author, **({"thread": thread_id} if thread_id else {}), **resources.link_thresholds()}
    st.page_link(nav.page("authors"), label=md_escape(label or shorten(author, NAME_CHARS)), query_params=query)


def open_author(names: list[str], thread_id: str | None, key: str, title: str = "Open an author") -> None:
    """A choice of authors and a link to the chosen one (names as widget options: never interpreted)."""
    if not names:
        return
    c1, c2 = st.columns([3, 1])
    chosen = widgets.choose(c1.selectbox, title, names, key=key, format_func=lambda a: shorten(a, NAME_CHARS))
    with c2:
        st.write("")
        author_link(chosen, thread_id, label="Open author")


def thread_version(thread_id: str) -> tuple[Any, str] | None:
    """(loaded thread, version) or None (with an error shown) when the store lacks it."""
    version = resources.store().thread_updated_at(thread_id)
    if version is None:
        widgets.error(f"No thread {thread_id!r} in the store")
        return None
    return resources.thread_data(resources.db_target(), thread_id, str(version)), str(version)


def per_thread(thread_id: str) -> dict[str, Any] | None:
    """The thread's per-author numbers and hostile exchanges at the thresholds in force."""
    found = thread_version(thread_id)
    if found is None:
        return None
    loaded, version = found
    thresholds = resources.thresholds_for(loaded.thresholds)
    data = resources.thread_authors(resources.db_target(), thread_id, version, tuple(sorted(thresholds.items())))
    return {"loaded": loaded, **data}


def authors_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "author": r["author"],
                "comments": r["comments"],
                "toxic": r["toxic"],
                "toxic share": r["toxic_share"],
                "replies received": r["replies_received"],
                "replies given": r["replies_given"],
                "toxic replies received": r["toxic_replies_received"],
                "toxic replies given": r["toxic_replies_given"],
            }
            for r in rows
        ]
    )


SHARE_COLUMN = st.column_config.ProgressColumn("toxic share", min_value=0.0, max_value=1.0, format="percent")


def thread_overview(thread_id: str) -> None:
    """Every author of one thread, and who was hostile to whom."""
    data = per_thread(thread_id)
    if data is None:
        return
    title = data["loaded"].info.get("title") or thread_id
    st.subheader(md_escape(f"Authors in {shorten(title, 150)}"))
    st.page_link(nav.page("thread"), label="Back to the thread", query_params={"thread": thread_id})
    rows = data["authors"]
    if not rows:
        st.caption("No comment in this thread names its author.")
        return
    st.dataframe(authors_frame(rows), hide_index=True, width="stretch", column_config={"toxic share": SHARE_COLUMN})
    open_author([r["author"] for r in rows], thread_id, key="au_pick_thread")
    st.subheader("Hostile exchanges")
    if not data["exchanges"]:
        st.caption("No toxic reply from one author to another.")
    else:
        st.dataframe(
            pd.DataFrame(
                [
                    {"from": r["from"], "to": r["to"], "toxic replies": r["toxic"], "replies": r["replies"]}
                    for r in data["exchanges"]
                ]
            ),
            hide_index=True,
            width="stretch",
        )


def in_thread(author: str, thread_id: str) -> None:
    """The author's part in one thread: comments, toxic share, replies, hostile exchanges."""
    data = per_thread(thread_id)
    if data is None:
        return
    title = data["loaded"].info.get("title") or thread_id
    with st.container(key="au-in-thread"):
        st.subheader(md_escape(f"In {shorten(title, 150)}"))
        row = author_stats.author_in_thread(data["authors"], author)
        links = st.columns(2)
        with links[0]:
            st.page_link(nav.page("thread"), label="Back to the thread", query_params={"thread": thread_id})
        with links[1]:
            st.page_link(
                nav.page("authors"),
                label="Every author in this thread",
                query_params={"thread": thread_id, **resources.link_thresholds()},
            )
        if row is None:
            st.caption("No comment by this author in this thread.")
            return
        m = st.columns(5)
        m[0].metric("Comments", f"{row['comments']:,}")
        m[1].metric("Toxic share", _share(row["toxic_share"]))
        m[2].metric("Replies received", f"{row['replies_received']:,}")
        m[3].metric("Replies given", f"{row['replies_given']:,}")
        m[4].metric("Toxic replies given", f"{row['toxic_replies_given']:,}")
        exchanges = author_stats.exchanges_with(data["exchanges"], author)
        st.markdown("**Hostile exchanges**")
        if not exchanges:
            st.caption("No toxic reply between this author and another in this thread.")
            return
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "with": r["with"],
                        "toxic replies to them": r["toxic_to_them"],
                        "toxic replies from them": r["toxic_from_them"],
                    }
                    for r in exchanges
                ]
            ),
            hide_index=True,
            width="stretch",
        )
        open_author([r["with"] for r in exchanges], thread_id, key="au_pick_with", title="Open the other author")


def verdict_summary(verdicts: list[dict[str, Any]]) -> str:
    """'2 remove, 1 relabel, 1 approve' (most first), or 'none'."""
    counts = Counter(v["decision"] for v in verdicts)
    return ", ".join(f"{n} {d}" for d, n in counts.most_common()) or "none"


def across_threads(author: str) -> None:
    """The author's history in the store: first seen, threads, toxic share over time, verdicts."""
    profile = resources.store().author_profile(author)
    with st.container(key="au-history"):
        st.subheader("Across all threads")
        if profile is None:
            st.caption("The store has no comment by this author.")
            return
        s = profile["summary"]
        thresholds = resources.thresholds_for(profile["thresholds"])
        totals = author_stats.history_totals(profile["points"], thresholds)
        m = st.columns(5)
        m[0].metric("First seen", _day(s["first_at"] or s["first_imported"]))
        m[1].metric("Threads", f"{s['threads']:,}")
        m[2].metric("Comments", f"{s['comments']:,}")
        m[3].metric("Toxic share", _share(totals["toxic_share"]))
        m[4].metric("Verdicts on their comments", f"{len(profile['verdicts']):,}")
        st.caption(
            f"First comment {_day(s['first_at'])}, last {_day(s['last_at'])}; first imported "
            f"{_day(s['first_imported'])}. Toxic share over {totals['scored']:,} scored comment(s)"
            + (f" (the newest {len(profile['points']):,})" if profile["truncated"] else "")
            + "."
        )
        history = author_stats.history_over_time(profile["points"], thresholds)
        frame = charts.time_frame(history)
        st.markdown("**Toxic share over time**")
        if history is None or frame.empty:  # no history: an empty frame
            st.caption("No comment by this author has a time.")
        else:
            st.caption(f"Per {history['bucket']}.")
            st.altair_chart(charts.time_chart(frame, bucket=history["bucket"]), width="stretch")
        threads_section(author, profile["threads"])
        verdicts_section(profile["verdicts"])


def threads_section(author: str, threads: list[dict[str, Any]]) -> None:
    st.markdown("**Threads**")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "thread": r["thread_id"],
                    "title": shorten(r["title"] or "", 120),
                    "comments": r["comments"],
                    "first": r["first_at"],
                    "last": r["last_at"],
                }
                for r in threads
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    ids = [r["thread_id"] for r in threads]
    titles = {r["thread_id"]: r["title"] or r["thread_id"] for r in threads}
    c1, c2, c3 = st.columns([3, 1, 1])
    chosen = c1.selectbox(
        "Their part in a thread", ids, key="au_pick_in", format_func=lambda t: f"{shorten(titles[t], 90)} ({t})"
    )
    with c2:
        st.write("")
        author_link(author, chosen, label="Show")
    with c3:
        st.write("")
        st.page_link(nav.page("thread"), label="Open the thread", query_params={"thread": chosen})


def verdicts_section(verdicts: list[dict[str, Any]]) -> None:
    st.markdown("**Verdicts on their comments**")
    if not verdicts:
        st.caption("No reviewer has judged a comment by this author.")
        return
    st.caption(md_escape(f"{verdict_summary(verdicts)} (newest first)."))
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "when": v["created_at"],
                    "decision": v["decision"],
                    "labels": ", ".join(f"{k}={x}" for k, x in sorted((v["labels"] or {}).items())),
                    "reviewer": v["reviewer"],
                    "thread": v["thread_id"],
                    "comment": v["comment_id"],
                    "note": v["note"] or "",
                    "on an earlier text": bool(v["stale"]),
                }
                for v in verdicts
            ]
        ),
        hide_index=True,
        width="stretch",
    )


def author_index() -> None:
    """No author or thread in the URL: the authors with the most comments, searchable."""
    widgets.init_state("au_search", params.get_str(st.query_params, "q", "") or "")
    search = st.text_input("Find an author (part of the name)", key="au_search", max_chars=200)
    rows = resources.store().author_list(search=search.strip() or None, limit=LIST_LIMIT)
    if not rows:
        st.info("No author matches." if search.strip() else "The store has no comment with an author yet.")
        return
    st.caption(
        f"{len(rows):,} author(s), most comments first" + (" (the first 200)" if len(rows) >= LIST_LIMIT else "") + "."
    )
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    open_author([r["author"] for r in rows], None, key="au_pick_index")


def render() -> None:
    qp = st.query_params
    author = params.get_str(qp, "author")
    thread_id = params.get_str(qp, "thread")
    keep = resources.link_thresholds()
    if author is None:
        st.title("Authors")
        if thread_id:
            thread_overview(thread_id)
        else:
            author_index()
            keep = {**keep, **({"q": st.session_state["au_search"]} if st.session_state.get("au_search") else {})}
        widgets.set_params({"thread": thread_id, **keep})
        return
    st.title(md_escape("Author: " + shorten(author, NAME_CHARS)))
    if thread_id:
        in_thread(author, thread_id)
    across_threads(author)
    widgets.set_params({"author": author, "thread": thread_id, **keep})


if __name__ == "__main__":
    render()
