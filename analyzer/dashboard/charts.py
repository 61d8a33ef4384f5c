"""Altair charts for the Overview and Thread pages, built from analytics output. No
comment text ever goes into a chart (tooltips are numbers and dates only)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import pandas as pd

from analyzer.analytics.results import DepthRow

# Time axes always carry the year: a thread's comments, and the Overview's threads, can span years.
TIME_FORMAT = {"hour": "%d %b %Y %H:%M", "day": "%d %b %Y", "week": "%d %b %Y", "month": "%b %Y", "year": "%Y"}
TIME_INTERVAL = {"month": "month", "year": "year"}  # one tick per bucket (or per few) at these sizes
SENTIMENT_ORDER = ["negative", "neutral", "positive"]
SVG = {"embedOptions": {"renderer": "svg"}}  # drawn as SVG: axis labels are text a browser test can read


def depth_frame(by_depth: Sequence[DepthRow]) -> pd.DataFrame:
    """analytics.toxicity_by_depth rows as a frame (rate as a share, 0..1); deep levels
    merged into bands (``analytics.depth_bands``), so a very deep thread stays readable."""
    from analyzer.analytics import depth_bands

    return pd.DataFrame(
        [
            {
                "depth": r["label"],
                "comments": r["comments"],
                "toxic share": r["rate"],
                "mean toxicity": r["mean_toxicity"],
            }
            for r in depth_bands(by_depth)
        ]
    )


def time_frame(over_time: Mapping[str, Any] | None) -> pd.DataFrame:
    """analytics.over_time's series as a frame with real timestamps."""
    rows = (over_time or {}).get("series") or []
    frame = pd.DataFrame([{"start": r["start"], "comments": r["comments"], "toxic share": r["rate"]} for r in rows])
    if not frame.empty:
        frame["start"] = pd.to_datetime(frame["start"])
    return frame


def sentiment_frame(mix: Mapping[str, Any]) -> pd.DataFrame:
    """The sentiment shares, one row per class in negative, neutral, positive order (empty when none)."""
    share = (mix or {}).get("share") or {}
    if not any(v is not None for v in share.values()):
        return pd.DataFrame(columns=["sentiment", "share"])
    return pd.DataFrame([{"sentiment": k, "share": float(share.get(k) or 0.0)} for k in SENTIMENT_ORDER])


def depth_chart(frame: pd.DataFrame) -> alt.Chart:
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("depth:O", title="reply depth", sort=None),  # in depth order, bands after single depths
            y=alt.Y("toxic share:Q", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
            color=alt.Color(
                "toxic share:Q", scale=alt.Scale(scheme="redyellowgreen", reverse=True, domain=[0, 1]), legend=None
            ),
            tooltip=["depth", "comments", alt.Tooltip("toxic share:Q", format=".1%")],
        )
        .properties(height=220, usermeta=SVG)
    )


def time_axis(bucket: str | None, points: int) -> alt.Axis:
    """An x axis whose labels show the year, one tick per bucket (or per few) for month and year buckets."""
    fmt = TIME_FORMAT.get(bucket or "", "%d %b %Y")
    interval = TIME_INTERVAL.get(bucket or "")
    ticks: Any = {"interval": interval, "step": max(1, -(-points // 8))} if interval else 8
    return alt.Axis(format=fmt, labelAngle=0, labelOverlap=True, tickCount=ticks, title=None)


def time_chart(frame: pd.DataFrame, x: str = "start", bucket: str | None = None) -> alt.LayerChart:
    """Comments as bars, toxic share as a line on a second axis; time labels with the year."""
    fmt = TIME_FORMAT.get(bucket or "", "%d %b %Y")
    base = alt.Chart(frame).encode(x=alt.X(f"{x}:T", axis=time_axis(bucket, len(frame))))
    when = alt.Tooltip(f"{x}:T", format=fmt, title=bucket or "time")
    bars = base.mark_bar(opacity=0.3, color="#6b7280").encode(
        y=alt.Y("comments:Q", title="comments"), tooltip=[when, "comments"]
    )
    line = base.mark_line(point=True, color="#dc2626").encode(
        y=alt.Y("toxic share:Q", axis=alt.Axis(format="%"), title="toxic share"),
        tooltip=[when, alt.Tooltip("toxic share:Q", format=".1%")],
    )
    return alt.layer(bars, line).resolve_scale(y="independent").properties(height=220, usermeta=SVG)


def sentiment_chart(frame: pd.DataFrame) -> alt.Chart:
    """One bar per sentiment class, always all three in order (a class with no share shows
    as an empty bar, so the labels never shift onto the wrong bar)."""
    colours = alt.Scale(domain=SENTIMENT_ORDER, range=["#dc2626", "#9ca3af", "#16a34a"])
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("share:Q", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1]), title="share of comments"),
            y=alt.Y(
                "sentiment:N",
                scale=alt.Scale(domain=SENTIMENT_ORDER),
                axis=alt.Axis(labelOverlap=False, labelLimit=200, title=None),
            ),
            color=alt.Color("sentiment:N", scale=colours, legend=None),
            tooltip=["sentiment", alt.Tooltip("share:Q", format=".1%")],
        )
        .properties(height=150, usermeta=SVG)
    )
