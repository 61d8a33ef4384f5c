"""Overview page: key figures, threads ranked by risk with filters, toxicity over time.
Everything here is read from the per-thread statistics (never from the comments).

Where a context model scored a thread its numbers are the in-context ones (each row says
which); the "Rank by in-context scores" toggle, shown when any thread has them, switches
the ranking and the toxic counts to the context-free scores."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any, TypedDict

import pandas as pd
import streamlit as st

from analyzer.dashboard import charts, nav, params, resources, timeline, widgets
from analyzer.scoring.labels import TOXICITY_LABELS

ALL = "(all)"
PER_PAGE = 25


class Filters(TypedDict):
    """The page's thread filters, as ``Store.list_threads`` (and the totals) take them."""

    format: str | None
    label: str | None
    min_risk: float | None
    since: datetime | None
    until: datetime | None
    search: str | None
    scores: str


def _since(d: object) -> datetime | None:
    """The start of a picked day (a date input answers a date, a tuple or nothing)."""
    return datetime.combine(d, time.min, tzinfo=timezone.utc) if isinstance(d, date) else None


def _until(d: object) -> datetime | None:
    return datetime.combine(d, time.min, tzinfo=timezone.utc) + timedelta(days=1) if isinstance(d, date) else None


def trend_metric(where: Any, found: timeline.Trend | None) -> None:
    """The latest period's toxic share against the period just before it, both named."""
    if found is None:
        where.metric("Trend", "—", help="No scored comments yet.")
        return
    where.metric(
        f"Toxic share, {found.latest}",
        f"{found.latest_share:.1%}",
        delta=None if found.change is None else f"{found.change * 100:+.1f} pts vs {found.previous}",
        delta_color="inverse",
        help="The latest period with scored comments against the one just before it "
        "(threads counted by the day they started).",
    )
    if found.change is None:
        where.caption(f"No scored comments in {found.previous} to compare with.")


def recent_alerts(store: Any) -> None:
    """The newest webhook alerts (thresholds crossed, comments flagged by rules) and how
    their delivery went; nothing when no webhook was ever set up."""
    from analyzer.store import alerts as store_alerts

    rows = store_alerts.recent_alerts(store, limit=10)
    if not rows:
        return
    st.subheader("Recent alerts")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "time": r["created_at"],
                    "event": r["kind"].replace("_", " "),
                    "thread": r["thread_id"],
                    "what": r["summary"],
                    "webhook": r["webhook"],
                    "status": r["status"],
                    "attempts": r["attempts"],
                    "last error": r["last_error"],
                }
                for r in rows
            ]
        ),
        hide_index=True,
        width="stretch",
        key="ov-alerts",
    )
    st.page_link(nav.page("rules"), label="Rules and webhooks")


def _filter_bar(store: Any, has_context: bool) -> tuple[Filters, dict[str, Any]]:
    """The filter widgets, started from the link's parameters: the filters they set, and
    the parameters that carry them back into the link (the page number aside)."""
    qp = st.query_params
    facets = store.facets()
    formats = [ALL, *facets["format"]]
    labels = [ALL, *[lab for lab in TOXICITY_LABELS if lab in facets["top_label"]]]

    widgets.init_state("ov_format", params.get_choice(qp, "source", formats, ALL))
    widgets.init_state("ov_label", params.get_choice(qp, "label", labels, ALL))
    widgets.init_state("ov_risk", params.get_float(qp, "min_risk", 0.0))
    widgets.init_state("ov_since", params.get_date(qp, "since"))
    widgets.init_state("ov_until", params.get_date(qp, "until"))
    widgets.init_state("ov_search", params.get_str(qp, "q", "") or "")
    widgets.init_state("ov_page", params.get_int(qp, "p", 1, 1))
    widgets.init_state("ov_ctx", params.get_bool(qp, "ctx", True))

    st.title("Overview")
    cols = st.columns([1, 1, 1.3, 1, 1, 1.5])
    fmt = cols[0].selectbox("Source", formats, key="ov_format", help="The platform or file format threads came from.")
    label = cols[1].selectbox(
        "Top label", labels, key="ov_label", help="The label most often above threshold in the thread."
    )
    min_risk = cols[2].slider("Minimum risk", 0.0, 1.0, step=0.05, key="ov_risk")
    since = cols[3].date_input("Active from", key="ov_since")
    until = cols[4].date_input("Active until", key="ov_until")
    search = cols[5].text_input("Search title or id", key="ov_search", max_chars=200)
    use_context = (
        st.toggle(
            "Rank by in-context scores",
            key="ov_ctx",
            help="On: threads a context model scored are measured by each reply read with the comment "
            "it answers. Off: every comment scored alone.",
        )
        if has_context
        else False
    )
    filters: Filters = {
        "format": None if fmt == ALL else fmt,
        "label": None if label == ALL else label,
        "min_risk": min_risk or None,
        "since": _since(since),
        "until": _until(until),
        "search": search.strip() or None,
        "scores": "context" if use_context or not has_context else "alone",
    }
    link = {
        "source": filters["format"],
        "label": filters["label"],
        "min_risk": filters["min_risk"],
        "since": since,
        "until": until,
        "q": filters["search"],
        "ctx": None if use_context or not has_context else False,
    }
    return filters, link


def _figures(store: Any, filters: Filters) -> None:
    """The key figures, the trend against the previous period, and toxicity over time."""
    totals = store.totals(**filters)
    bucket, series = timeline.bucketed(store.daily(**filters))
    found = timeline.compare(series, bucket)

    m = st.columns(4)
    m[0].metric("Threads", f"{totals['threads']:,}")
    m[1].metric("Comments", f"{totals['comments']:,}")
    share = totals["toxic_share"]
    m[2].metric(
        "Share toxic",
        "—" if share is None else f"{share:.1%}",
        help=f"{totals['toxic']:,} of {totals['scored']:,} scored comments at or above their label's threshold.",
    )
    trend_metric(m[3], found)

    if series:
        st.subheader(f"Toxicity over time (per {bucket}, by the day a thread started)")
        frame = pd.DataFrame(
            [
                {"start": pd.Timestamp(r["start"]), "comments": r["comments"], "toxic share": r["toxic_share"]}
                for r in series
            ]
        )
        st.altair_chart(charts.time_chart(frame, bucket=bucket), width="stretch")


def _thread_table(rows: list[dict[str, Any]], has_context: bool) -> None:
    table = pd.DataFrame(
        [
            {
                "risk": r["risk"],
                "thread": r["title"] or r["thread_id"],
                "id": r["thread_id"],
                "source": r["format"],
                "comments": r["comments"],
                "toxic share": r["toxic_share"],
                "max toxicity": r["max_toxicity"],
                "top label": r["top_label"] if r["toxic"] else None,  # no toxic comment, no top label
                **({"scores": "in context" if r["in_context"] else "alone"} if has_context else {}),
                "first": r["first_at"],
                "last": r["last_at"],
            }
            for r in rows
        ]
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "risk": st.column_config.ProgressColumn("risk", min_value=0.0, max_value=1.0, format="%.2f"),
            "toxic share": st.column_config.NumberColumn(format="percent"),
            "max toxicity": st.column_config.NumberColumn(format="%.2f"),
        },
    )
    titles = {r["thread_id"]: (r["title"] or r["thread_id"]) for r in rows}
    c1, c2 = st.columns([3, 1])
    chosen = c1.selectbox("Open a thread", list(titles), format_func=lambda t: f"{titles[t][:90]} ({t})", key="ov_open")
    with c2:
        st.write("")
        st.page_link(nav.page("thread"), label="Open thread", query_params={"thread": chosen})


def _ranking(store: Any, filters: Filters, has_context: bool) -> int:
    """Threads by risk, one page of them; returns the page number shown."""
    total = store.count_threads(**filters)
    pages = max(1, -(-total // PER_PAGE))
    if st.session_state["ov_page"] > pages:
        st.session_state["ov_page"] = pages
    how = {"context": " (in context where a context model scored them)", "alone": " (every comment alone)"}
    st.subheader(f"Threads by risk ({total:,})")
    if has_context:
        st.caption(f"Risk, toxic share and max toxicity{how[filters['scores']]}.")
    page_no = st.number_input("Page", 1, pages, key="ov_page") if pages > 1 else 1
    rows = store.list_threads(**filters, limit=PER_PAGE, offset=(page_no - 1) * PER_PAGE)
    if not rows:
        st.info("No threads match. Import some on the Import page.")
        st.page_link(nav.page("import"), label="Import threads")
    else:
        _thread_table(rows, has_context)
    return page_no


def render() -> None:
    store = resources.store()
    has_context = store.has_context_scores()
    filters, link = _filter_bar(store, has_context)
    _figures(store, filters)
    page_no = _ranking(store, filters, has_context)
    recent_alerts(store)
    ctx = link.pop("ctx")
    widgets.set_params({**link, "p": page_no if page_no > 1 else None, "ctx": ctx})


if __name__ == "__main__":
    render()
